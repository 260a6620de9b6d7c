// reordered: wrong when x1 == x3
str x0, [x1]
ldr x2, [x3]
