// load, then store through another pointer
ldr x2, [x3]
str x0, [x1]
