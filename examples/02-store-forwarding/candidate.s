str x0, [x1]
mov x2, x0
