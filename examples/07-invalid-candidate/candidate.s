add x0, x1, x2
addd x3, x0, #1
