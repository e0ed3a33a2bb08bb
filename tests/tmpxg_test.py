import os, pytest
pytestmark = pytest.mark.xdist_group("g")
@pytest.mark.parametrize("i", range(8))
def test_g(i, request):
    with open("/tmp/xg.txt", "a") as f: f.write(os.environ.get("PYTEST_XDIST_WORKER", "-") + " " + request.node.nodeid + "\n")
@pytest.mark.parametrize("i", range(8))
def test_h(i):
    pass
