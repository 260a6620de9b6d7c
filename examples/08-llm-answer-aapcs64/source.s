	.cfi_startproc
	ldr	w8, [x0, #4]
	mov	w9, #3
	mul	w8, w8, w9
	str	w8, [x0, #4]
	ret
	.cfi_endproc
