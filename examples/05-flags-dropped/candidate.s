sub w0, w1, w2
mul w3, w0, w0
