str x0, [x1]
ldr x2, [x1]
