	cmp	x1, x2
	b.ne	.L2
	mov	x0, x3
.L2:
	add	x0, x0, #1
