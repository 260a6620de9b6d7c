lsl x0, x0, #1
