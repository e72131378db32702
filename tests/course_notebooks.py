"""Lessons 00-02 written the way the fast.ai course notebooks are, as cell sources.

No task metadata: the grader maps tasks by name and order of definition. The cells
mix what a real course notebook has: magics, ``#export`` cells, ``from exp.nb_01
import *``, exploration on data that is never loaded (``t1 = matmul(m1, m2)``,
``%timeit``), five ``def matmul``, and Relu/Lin/Mse/Model redefined as the lesson goes.
Signatures follow CURRICULUM.md where it differs from the course (``get_data(path)``,
``model(xb, w1, b1, w2, b2)``, ``forward_and_backward`` returning the loss).
"""
from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

# Lines that variants of the lesson-02 notebook break (each occurs exactly once).
FIRST_LIN_W_GRAD = "        self.w.g = (self.inp.unsqueeze(-1) * self.out.g.unsqueeze(1)).sum(0)"
THIRD_LIN_W_GRAD = "        self.w.g = inp.t() @ out.g"


class md(str):
    """A markdown cell; every other string is a code cell."""

EXPORTS_00 = [
    md("# Exports"),
    "%load_ext autoreload\n%autoreload 2",
    "#export\nTEST = 'test'",
    "!python notebook2script.py 00_exports.ipynb",
    "#export\nimport operator\n\ndef test(a,b,cmp,cname=None):\n"
    "    if cname is None: cname=cmp.__name__\n"
    "    assert cmp(a,b),f\"{cname}:\\n{a}\\n{b}\"\n\n"
    "def test_eq(a,b): test(a,b,operator.eq,'==')",
    "test_eq(TEST,'test')",
    "test_eq([1,2],[1,2])",
]

MATMUL_01 = [
    md("## Matrix multiplication from foundations"),
    "%load_ext autoreload\n%autoreload 2\n\n%matplotlib inline",
    "#export\nfrom exp.nb_00 import *\nimport operator",
    "test_eq(TEST,'test')",
    "#export\nfrom pathlib import Path\nimport pickle, gzip, math, torch, matplotlib as mpl\n"
    "import matplotlib.pyplot as plt\nfrom torch import tensor\n\n"
    "MNIST_URL='http://deeplearning.net/data/mnist/mnist.pkl'",
    "#export\ndef get_data(path):\n    with gzip.open(path, 'rb') as f:\n"
    "        ((x_train, y_train), (x_valid, y_valid), _) = pickle.load(f, encoding='latin-1')\n"
    "    return map(tensor, (x_train,y_train,x_valid,y_valid))",
    "path = Path('data')/'mnist.pkl.gz'\nx_train,y_train,x_valid,y_valid = get_data(path)",
    "n,c = x_train.shape\nx_train, x_train.shape, y_train, y_train.shape, y_train.min(), y_train.max()",
    "assert n==y_train.shape[0]==50000\ntest_eq(c,28*28)\ntest_eq(y_train.min(),0)\ntest_eq(y_train.max(),9)",
    "mpl.rcParams['image.cmap'] = 'gray'\nimg = x_train[0]\nimg.view(28,28).type()\nplt.imshow(img.view((28,28)));",
    md("## Initial python model"),
    "weights = torch.randn(784,10)\nbias = torch.zeros(10)",
    "def matmul(a,b):\n    ar,ac = a.shape # n_rows * n_cols\n    br,bc = b.shape\n    assert ac==br\n"
    "    c = torch.zeros(ar, bc)\n    for i in range(ar):\n        for j in range(bc):\n"
    "            for k in range(ac): # or br\n                c[i,j] += a[i,k] * b[k,j]\n    return c",
    "m1 = x_valid[:5]\nm2 = weights\nm1.shape,m2.shape",
    "%time t1=matmul(m1, m2)",
    "t1.shape",
    md("## Elementwise ops"),
    "a = tensor([10., 6, -4])\nb = tensor([2., 8, 7])\na,b",
    "a + b\n(a < b).float().mean()",
    "m = tensor([[1., 2, 3], [4,5,6], [7,8,9]]); m",
    "#export\ndef frobenius(a): return (a*a).sum().sqrt()",
    "frobenius(m)",
    "def matmul(a,b):\n    ar,ac = a.shape\n    br,bc = b.shape\n    assert ac==br\n"
    "    c = torch.zeros(ar, bc)\n    for i in range(ar):\n        for j in range(bc):\n"
    "            # Any trailing \",:\" can be removed\n            c[i,j] = (a[i,:] * b[:,j]).sum()\n"
    "    return c",
    "%timeit -n 10 _=matmul(m1, m2)",
    "#export\ndef near(a,b): return torch.allclose(a, b, rtol=1e-3, atol=1e-5)\n"
    "def test_near(a,b): test(a,b,near)",
    "test_near(t1,matmul(m1, m2))",
    md("## Broadcasting"),
    "c = tensor([10.,20,30]); c\nm + c\nt = c.expand_as(m)\nt.storage(), t.stride(), t.shape",
    "c.unsqueeze(0)\nc.unsqueeze(1)\nc[None,:].shape, c[:,None].shape",
    "def matmul(a,b):\n    ar,ac = a.shape\n    br,bc = b.shape\n    assert ac==br\n"
    "    c = torch.zeros(ar, bc)\n    for i in range(ar):\n"
    "#       c[i,j] = (a[i,:]          * b[:,j]).sum() # previous\n"
    "        c[i]   = (a[i  ].unsqueeze(-1) * b).sum(dim=0)\n    return c",
    "%timeit -n 10 _=matmul(m1, m2)\ntest_near(t1, matmul(m1, m2))",
    md("## Einstein summation"),
    "def matmul(a,b): return torch.einsum('ik,kj->ij', a, b)",
    "%timeit -n 10 _=matmul(m1, m2)\ntest_near(t1, matmul(m1, m2))",
    md("## pytorch op"),
    "def matmul(a,b): return a.matmul(b)",
    "%timeit -n 10 t2 = m1.matmul(m2)\nt2 = m1@m2\ntest_near(t1,t2)",
    "!python notebook2script.py 01_matmul.ipynb",
]

FULLY_CONNECTED_02 = [
    md("# The forward and backward passes"),
    "%load_ext autoreload\n%autoreload 2\n\n%matplotlib inline",
    "#export\nfrom exp.nb_01 import *\nfrom torch.nn import init\n\n"
    "def normalize(x, m, s): return (x-m)/s",
    "x_train,y_train,x_valid,y_valid = get_data(path)",
    "train_mean,train_std = x_train.mean(),x_train.std()\ntrain_mean,train_std",
    "x_train = normalize(x_train, train_mean, train_std)\n"
    "# NB: Use training, not validation mean for validation set\n"
    "x_valid = normalize(x_valid, train_mean, train_std)",
    "#export\ndef test_near_zero(a,tol=1e-3): assert a.abs()<tol, f\"Near zero: {a}\"",
    "test_near_zero(x_train.mean())\ntest_near_zero(1-x_train.std())",
    "n,m = x_train.shape\nc = y_train.max()+1\nn,m,c",
    md("## Foundations version"),
    "# num hidden\nnh = 50",
    "w1 = torch.randn(m,nh)/math.sqrt(m)\nb1 = torch.zeros(nh)\nw2 = torch.randn(nh,1)/math.sqrt(nh)\n"
    "b2 = torch.zeros(1)",
    "def he_init(n_in, n_out): return torch.randn(n_in, n_out)*math.sqrt(2/n_in)",
    "def relu(x): return x.clamp_min(0.)",
    "def lin(x, w, b): return x@w + b",
    "t = lin(x_valid, w1, b1)\nt.mean(),t.std()",
    "w1 = he_init(m, nh)\nt = relu(lin(x_valid, w1, b1))\nt.mean(),t.std()",
    "#export\nfrom torch.nn import init",
    "def kaiming_torch(n_in, n_out):\n    w = torch.zeros(n_in, n_out)\n"
    "    init.kaiming_normal_(w, mode='fan_out')\n    return w",
    "w1 = torch.zeros(m,nh)\ninit.kaiming_normal_(w1, mode='fan_out')\nt = relu(lin(x_valid, w1, b1))",
    "def model(xb, w1, b1, w2, b2):\n    l1 = lin(xb, w1, b1)\n    l2 = relu(l1)\n"
    "    l3 = lin(l2, w2, b2)\n    return l3",
    "%timeit -n 10 _=model(x_valid, w1, b1, w2, b2)",
    "assert model(x_valid, w1, b1, w2, b2).shape==torch.Size([x_valid.shape[0],1])",
    md("## Loss function: MSE"),
    "#export\ndef mse(output, targ): return (output.squeeze(-1) - targ).pow(2).mean()",
    "y_train,y_valid = y_train.float(),y_valid.float()\npreds = model(x_train, w1, b1, w2, b2)\n"
    "preds.shape\nmse(preds, y_train)",
    md("## Gradients and backward pass"),
    "def mse_grad(inp, targ): \n    # grad of loss with respect to output of previous layer\n"
    "    inp.g = 2. * (inp.squeeze() - targ).unsqueeze(-1) / inp.shape[0]",
    "def relu_grad(inp, out):\n    # grad of relu with respect to input activations\n"
    "    inp.g = (inp>0).float() * out.g",
    "def lin_grad(inp, out, w, b):\n    # grad of matmul with respect to input\n"
    "    inp.g = out.g @ w.t()\n    w.g = (inp.unsqueeze(-1) * out.g.unsqueeze(1)).sum(0)\n"
    "    b.g = out.g.sum(0)",
    "def forward_and_backward(inp, targ, w1, b1, w2, b2):\n    # forward pass:\n"
    "    l1 = inp @ w1 + b1\n    l2 = relu(l1)\n    out = l2 @ w2 + b2\n"
    "    # we don't actually need the loss in backward!\n    loss = mse(out, targ)\n    \n"
    "    # backward pass:\n    mse_grad(out, targ)\n    lin_grad(l2, out, w2, b2)\n"
    "    relu_grad(l1, l2)\n    lin_grad(inp, l1, w1, b1)\n    return loss",
    "loss = forward_and_backward(x_train, y_train, w1, b1, w2, b2)",
    "# Save for testing against later\nw1g = w1.g.clone()\nw2g = w2.g.clone()\nb1g = b1.g.clone()\n"
    "b2g = b2.g.clone()\nig  = x_train.g.clone()",
    "xt2 = x_train.clone().requires_grad_(True)\nw12 = w1.clone().requires_grad_(True)",
    "def forward(inp, targ):\n    # forward pass:\n    l1 = inp @ w12 + b12\n    l2 = relu(l1)\n"
    "    out = l2 @ w22 + b22\n    # we don't actually need the loss in backward!\n"
    "    return mse(out, targ)",
    "loss = forward(xt2, y_train)\nloss.backward()",
    "test_near(w22.grad, w2g)\ntest_near(b22.grad, b2g)",
    md("## Refactor model"),
    md("### Layers as classes"),
    "class Relu():\n    def __call__(self, inp):\n        self.inp = inp\n"
    "        self.out = inp.clamp_min(0.)\n        return self.out\n    \n"
    "    def backward(self): self.inp.g = (self.inp>0).float() * self.out.g",
    "class Lin():\n    def __init__(self, w, b): self.w,self.b = w,b\n        \n"
    "    def __call__(self, inp):\n        self.inp = inp\n        self.out = inp@self.w + self.b\n"
    "        return self.out\n    \n    def backward(self):\n"
    "        self.inp.g = self.out.g @ self.w.t()\n"
    "        # Creating a giant outer product, just to sum it, is inefficient!\n"
    f"{FIRST_LIN_W_GRAD}\n        self.b.g = self.out.g.sum(0)",
    "class Mse():\n    def __call__(self, inp, targ):\n        self.inp = inp\n        self.targ = targ\n"
    "        self.out = (inp.squeeze() - targ).pow(2).mean()\n        return self.out\n    \n"
    "    def backward(self):\n"
    "        self.inp.g = 2. * (self.inp.squeeze() - self.targ).unsqueeze(-1) / self.targ.shape[0]",
    "class Model():\n    def __init__(self, w1, b1, w2, b2):\n"
    "        self.layers = [Lin(w1,b1), Relu(), Lin(w2,b2)]\n        self.loss = Mse()\n        \n"
    "    def __call__(self, x, targ):\n        for l in self.layers: x = l(x)\n"
    "        return self.loss(x, targ)\n    \n    def backward(self):\n"
    "        self.loss.backward()\n        for l in reversed(self.layers): l.backward()",
    "w1.g,b1.g,w2.g,b2.g = [None]*4\nmodel = Model(w1, b1, w2, b2)",
    "%time loss = model(x_train, y_train)",
    "%time model.backward()",
    "test_near(w2g, w2.g)\ntest_near(b2g, b2.g)\ntest_near(w1g, w1.g)\ntest_near(b1g, b1.g)\n"
    "test_near(ig, x_train.g)",
    md("### Module.forward()"),
    "class Module():\n    def __call__(self, *args):\n        self.args = args\n"
    "        self.out = self.forward(*args)\n        return self.out\n    \n"
    "    def forward(self): raise Exception('not implemented')\n"
    "    def backward(self): self.bwd(self.out, *self.args)",
    "class Relu(Module):\n    def forward(self, inp): return inp.clamp_min(0.)\n"
    "    def bwd(self, out, inp): inp.g = (inp>0).float() * out.g",
    "class Lin(Module):\n    def __init__(self, w, b): self.w,self.b = w,b\n        \n"
    "    def forward(self, inp): return inp@self.w + self.b\n    \n    def bwd(self, out, inp):\n"
    "        inp.g = out.g @ self.w.t()\n        self.w.g = torch.einsum(\"bi,bj->ij\", inp, out.g)\n"
    "        self.b.g = out.g.sum(0)",
    "class Mse(Module):\n    def forward (self, inp, targ): return (inp.squeeze() - targ).pow(2).mean()\n"
    "    def bwd(self, out, inp, targ): inp.g = 2*(inp.squeeze()-targ).unsqueeze(-1) / targ.shape[0]",
    "class Model():\n    def __init__(self, w1, b1, w2, b2):\n"
    "        self.layers = [Lin(w1,b1), Relu(), Lin(w2,b2)]\n        self.loss = Mse()\n        \n"
    "    def __call__(self, x, targ):\n        for l in self.layers: x = l(x)\n"
    "        return self.loss(x, targ)\n    \n    def backward(self):\n"
    "        self.loss.backward()\n        for l in reversed(self.layers): l.backward()",
    "w1.g,b1.g,w2.g,b2.g = [None]*4\nmodel = Model(w1, b1, w2, b2)",
    "%time loss = model(x_train, y_train)\n%time model.backward()",
    md("### Without einsum"),
    "class Lin(Module):\n    def __init__(self, w, b): self.w,self.b = w,b\n        \n"
    "    def forward(self, inp): return inp@self.w + self.b\n    \n    def bwd(self, out, inp):\n"
    f"        inp.g = out.g @ self.w.t()\n{THIRD_LIN_W_GRAD}\n        self.b.g = out.g.sum(0)",
    "w1.g,b1.g,w2.g,b2.g = [None]*4\nmodel = Model(w1, b1, w2, b2)",
    "%time loss = model(x_train, y_train)\n%time model.backward()",
    "!./notebook2script.py 02_fully_connected.ipynb",
]

NOTEBOOKS = {
    "00_exports.ipynb": EXPORTS_00,
    "01_matmul.ipynb": MATMUL_01,
    "02_fully_connected.ipynb": FULLY_CONNECTED_02,
}


def _cell(source: str):
    return new_markdown_cell(source) if isinstance(source, md) else new_code_cell(source)


def write_notebook(path, sources: list[str]):
    notebook = new_notebook(cells=[_cell(source) for source in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(path))
    return path


def write_course_notebooks(folder, replace: dict[str, str] | None = None):
    """The three notebooks in ``folder``; ``replace`` maps a line above to its broken form."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, sources in NOTEBOOKS.items():
        for old, new in (replace or {}).items():
            if name.startswith("02"):
                assert sum(source.count(old) for source in sources) == 1, old
                sources = [source.replace(old, new) for source in sources]
        write_notebook(folder / name, sources)
    return folder
