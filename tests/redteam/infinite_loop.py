# attacks: 0.2
# damage: never returns, hoping to hang the grader forever
# needs: boundary
def test_eq(a, b):
    while True:
        pass
