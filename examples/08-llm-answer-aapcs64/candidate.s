Here is the optimized version of the code:

```asm
	ldr	w8, [x0, #4]
	add	w8, w8, w8, lsl #1   // x*3 == x + 2x
	str	w8, [x0, #4]
	ret
```

This replaces the multiplication with a shifted add, saving an instruction.
