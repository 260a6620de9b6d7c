	cmp	x1, x2
	csel	x0, x3, x0, eq
	add	x0, x0, #1
