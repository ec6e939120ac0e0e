def add(a, b):
    return a + b


def divide(a, b):
    if b == 0:
        raise ZeroDivisionError("b is zero")
    return a / b


def clamp(value, low, high):
    if value < low:
        return low
    if value > high:
        return high
    return value
