"""Lessons 00-06 written the way the fast.ai course notebooks are, as cell sources.

No task metadata: the grader maps tasks by name and order of definition. The cells
mix what a real course notebook has: magics, ``#export`` cells, ``from exp.nb_01
import *``, exploration on data that is never loaded (``t1 = matmul(m1, m2)``,
``%timeit``), five ``def matmul``, and Relu/Lin/Mse/Model redefined as the lesson goes.
Signatures follow CURRICULUM.md where it differs from the course (``get_data(path)``,
``model(xb, w1, b1, w2, b2)``, ``forward_and_backward`` returning the loss, and lesson
03's validation averages weighted by batch size: the course's mean of batch means is the
variant that fails 3.14).
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

# Lesson 03's validation averages, weighted by batch size (the contract; exact with a
# short last batch), and the course's own mean of the batches' means (fails 3.14).
WEIGHTED_AVERAGES = ("                tot_loss += loss_func(pred, yb) * len(yb)\n"
                     "                tot_acc  += accuracy (pred,yb) * len(yb)\n"
                     "        nv = len(valid_dl.dataset)")
BATCH_COUNT_AVERAGES = ("                tot_loss += loss_func(pred, yb)\n"
                        "                tot_acc  += accuracy (pred,yb)\n"
                        "        nv = len(valid_dl)")

MINIBATCH_03 = [
    md("# Minibatch training"),
    "%load_ext autoreload\n%autoreload 2\n\n%matplotlib inline",
    "#export\nfrom exp.nb_02 import *\nimport torch.nn.functional as F\nfrom torch import nn",
    "x_train,y_train,x_valid,y_valid = get_data()",
    "n,m = x_train.shape\nc = y_train.max()+1\nnh = 50",
    "class Model(nn.Module):\n    def __init__(self, n_in, nh, n_out):\n        super().__init__()\n"
    "        self.layers = [nn.Linear(n_in,nh), nn.ReLU(), nn.Linear(nh,n_out)]\n\n"
    "    def __call__(self, x):\n        for l in self.layers: x = l(x)\n        return x",
    "model = Model(m, nh, 10)\npred = model(x_train)",
    md("## Cross entropy"),
    "def log_softmax(x): return (x.exp()/(x.exp().sum(-1,keepdim=True))).log()",
    "sm_pred = log_softmax(pred)",
    "def nll(input, target): return -input[range(target.shape[0]), target].mean()",
    "loss = nll(sm_pred, y_train)\nloss",
    "def log_softmax(x): return x - x.exp().sum(-1,keepdim=True).log()",
    "test_near(nll(log_softmax(pred), y_train), loss)",
    "def logsumexp(x):\n    m = x.max(-1)[0]\n    return m + (x-m[:,None]).exp().sum(-1).log()",
    "test_near(logsumexp(pred), pred.logsumexp(-1))",
    "def log_softmax(x): return x - x.logsumexp(-1,keepdim=True)",
    "test_near(F.nll_loss(F.log_softmax(pred, -1), y_train), loss)\nloss_func = F.cross_entropy",
    "#export\ndef accuracy(out, yb): return (torch.argmax(out, dim=1)==yb).float().mean()",
    "bs=64\nxb = x_train[0:bs]\npreds = model(xb)\nyb = y_train[0:bs]\naccuracy(preds, yb)",
    "lr = 0.5\nepochs = 1",
    md("## Basic training loop"),
    "class Model(nn.Module):\n    def __init__(self, n_in, nh, n_out):\n        super().__init__()\n"
    "        self.l1 = nn.Linear(n_in,nh)\n        self.l2 = nn.Linear(nh,n_out)\n\n"
    "    def __call__(self, x): return self.l2(F.relu(self.l1(x)))",
    "def fit():\n    for epoch in range(epochs):\n        for i in range((n-1)//bs + 1):\n"
    "            start_i = i*bs\n            end_i = start_i+bs\n"
    "            xb = x_train[start_i:end_i]\n            yb = y_train[start_i:end_i]\n"
    "            loss = loss_func(model(xb), yb)\n\n            loss.backward()\n"
    "            with torch.no_grad():\n                for p in model.parameters(): p -= p.grad * lr\n"
    "                model.zero_grad()",
    "model = Model(m, nh, 10)\nfit()\nloss_func(model(xb), yb), accuracy(model(xb), yb)",
    "class DummyModule():\n    def __init__(self, n_in, nh, n_out):\n        self._modules = {}\n"
    "        self.l1 = nn.Linear(n_in,nh)\n        self.l2 = nn.Linear(nh,n_out)\n\n"
    "    def __setattr__(self,k,v):\n        if not k.startswith(\"_\"): self._modules[k] = v\n"
    "        super().__setattr__(k,v)\n\n    def __repr__(self): return f'{self._modules}'\n\n"
    "    def parameters(self):\n        for l in self._modules.values():\n"
    "            for p in l.parameters(): yield p",
    "mdl = DummyModule(m,nh,10)\n[o.shape for o in mdl.parameters()]",
    "class Optimizer():\n    def __init__(self, params, lr=0.5): self.params,self.lr=list(params),lr\n\n"
    "    def step(self):\n        with torch.no_grad():\n"
    "            for p in self.params: p -= p.grad * self.lr\n\n"
    "    def zero_grad(self):\n        for p in self.params: p.grad.data.zero_()",
    "#export\nfrom torch import optim",
    "def get_model():\n    model = nn.Sequential(nn.Linear(m,nh), nn.ReLU(), nn.Linear(nh,10))\n"
    "    return model, optim.SGD(model.parameters(), lr=lr)",
    md("## Dataset and DataLoader"),
    "#export\nclass Dataset():\n    def __init__(self, x, y): self.x,self.y = x,y\n"
    "    def __len__(self): return len(self.x)\n    def __getitem__(self, i): return self.x[i],self.y[i]",
    "train_ds,valid_ds = Dataset(x_train, y_train),Dataset(x_valid, y_valid)\nassert len(train_ds)==len(x_train)",
    "class DataLoader():\n    def __init__(self, ds, bs): self.ds,self.bs = ds,bs\n    def __iter__(self):\n"
    "        for i in range(0, len(self.ds), self.bs): yield self.ds[i:i+self.bs]",
    "train_dl = DataLoader(train_ds, bs)\nvalid_dl = DataLoader(valid_ds, bs)",
    "def fit():\n    for epoch in range(epochs):\n        for xb,yb in train_dl:\n"
    "            pred = model(xb)\n            loss = loss_func(pred, yb)\n            loss.backward()\n"
    "            opt.step()\n            opt.zero_grad()",
    "model,opt = get_model()\nfit()",
    "class Sampler():\n    def __init__(self, ds, bs, shuffle=False):\n"
    "        self.n,self.bs,self.shuffle = len(ds),bs,shuffle\n\n    def __iter__(self):\n"
    "        self.idxs = torch.randperm(self.n) if self.shuffle else torch.arange(self.n)\n"
    "        for i in range(0, self.n, self.bs): yield self.idxs[i:i+self.bs]",
    "small_ds = Dataset(*train_ds[:10])\ns = Sampler(small_ds,3,True)\n[o for o in s]",
    "def collate(b):\n    xs,ys = zip(*b)\n    return torch.stack(xs),torch.stack(ys)\n\n"
    "class DataLoader():\n    def __init__(self, ds, sampler, collate_fn=collate):\n"
    "        self.ds,self.sampler,self.collate_fn = ds,sampler,collate_fn\n\n    def __iter__(self):\n"
    "        for s in self.sampler: yield self.collate_fn([self.ds[i] for i in s])",
    "train_samp = Sampler(train_ds, bs, shuffle=True)\n"
    "train_dl = DataLoader(train_ds, sampler=train_samp, collate_fn=collate)",
    "#export\nfrom torch.utils.data import DataLoader, SequentialSampler, RandomSampler",
    "train_dl = DataLoader(train_ds, bs, shuffle=True, drop_last=True)\nvalid_dl = DataLoader(valid_ds, bs, shuffle=False)",
    md("## Validation"),
    "def fit(epochs, model, loss_func, opt, train_dl, valid_dl):\n    for epoch in range(epochs):\n"
    "        model.train()\n        for xb,yb in train_dl:\n            loss = loss_func(model(xb), yb)\n"
    "            loss.backward()\n            opt.step()\n            opt.zero_grad()\n\n"
    "        model.eval()\n        with torch.no_grad():\n            tot_loss,tot_acc = 0.,0.\n"
    "            for xb,yb in valid_dl:\n                pred = model(xb)\n"
    f"{WEIGHTED_AVERAGES}\n    return tot_loss/nv, tot_acc/nv",
    "#export\ndef get_dls(train_ds, valid_ds, bs, **kwargs):\n"
    "    return (DataLoader(train_ds, batch_size=bs, shuffle=True, **kwargs),\n"
    "            DataLoader(valid_ds, batch_size=bs*2, **kwargs))",
    "train_dl,valid_dl = get_dls(train_ds, valid_ds, bs)\nmodel,opt = get_model()\n"
    "loss,acc = fit(5, model, loss_func, opt, train_dl, valid_dl)",
    "assert acc>0.9",
    "!python notebook2script.py 03_minibatch_training.ipynb",
]

CALLBACKS_04 = [
    md("# Callbacks"),
    "%load_ext autoreload\n%autoreload 2\n\n%matplotlib inline",
    "#export\nfrom exp.nb_03 import *",
    "x_train,y_train,x_valid,y_valid = get_data()\n"
    "train_ds,valid_ds = Dataset(x_train, y_train),Dataset(x_valid, y_valid)\nnh,bs = 50,64\n"
    "c = y_train.max().item()+1\nloss_func = F.cross_entropy",
    "#export\nclass DataBunch():\n    def __init__(self, train_dl, valid_dl, c=None):\n"
    "        self.train_dl,self.valid_dl,self.c = train_dl,valid_dl,c\n\n"
    "    @property\n    def train_ds(self): return self.train_dl.dataset\n\n"
    "    @property\n    def valid_ds(self): return self.valid_dl.dataset",
    "data = DataBunch(*get_dls(train_ds, valid_ds, bs), c)",
    "#export\ndef get_model(data, lr=0.5, nh=50):\n    m = data.train_ds.x.shape[1]\n"
    "    model = nn.Sequential(nn.Linear(m,nh), nn.ReLU(), nn.Linear(nh,data.c))\n"
    "    return model, optim.SGD(model.parameters(), lr=lr)\n\n"
    "class Learner():\n    def __init__(self, model, opt, loss_func, data):\n"
    "        self.model,self.opt,self.loss_func,self.data = model,opt,loss_func,data",
    "learn = Learner(*get_model(data), loss_func, data)",
    "class Callback():\n    def begin_fit(self, learn):\n        self.learn = learn\n        return True\n"
    "    def after_step(self): return True",
    "class CallbackHandler():\n    def __init__(self,cbs=None): self.cbs = cbs if cbs else []\n"
    "    def begin_fit(self, learn):\n        self.learn,learn.stop = learn,False\n"
    "        return all([cb.begin_fit(learn) for cb in self.cbs])",
    "#export\nimport re\n\n_camel_re1 = re.compile('(.)([A-Z][a-z]+)')\n"
    "_camel_re2 = re.compile('([a-z0-9])([A-Z])')\ndef camel2snake(name):\n"
    "    s1 = re.sub(_camel_re1, r'\\1_\\2', name)\n    return re.sub(_camel_re2, r'\\1_\\2', s1).lower()\n\n"
    "class Callback():\n    _order=0\n    def set_runner(self, run): self.run=run\n"
    "    def __getattr__(self, k): return getattr(self.run, k)\n    @property\n    def name(self):\n"
    "        name = re.sub(r'Callback$', '', self.__class__.__name__)\n"
    "        return camel2snake(name or 'callback')",
    "#export\nclass TrainEvalCallback(Callback):\n    def begin_fit(self):\n"
    "        self.run.n_epochs=0.\n        self.run.n_iter=0\n\n    def after_batch(self):\n"
    "        if not self.in_train: return\n        self.run.n_epochs += 1./self.iters\n"
    "        self.run.n_iter   += 1\n\n    def begin_epoch(self):\n        self.run.n_epochs=self.epoch\n"
    "        self.model.train()\n        self.run.in_train=True\n\n    def begin_validate(self):\n"
    "        self.model.eval()\n        self.run.in_train=False",
    "TrainEvalCallback().name",
    "#export\nfrom typing import *\n\ndef listify(o):\n    if o is None: return []\n"
    "    if isinstance(o, list): return o\n    if isinstance(o, str): return [o]\n"
    "    if isinstance(o, Iterable): return list(o)\n    return [o]",
    "#export\nclass Runner():\n    def __init__(self, cbs=None, cb_funcs=None):\n        cbs = listify(cbs)\n"
    "        for cbf in listify(cb_funcs):\n            cb = cbf()\n            setattr(self, cb.name, cb)\n"
    "            cbs.append(cb)\n        self.stop,self.cbs = False,[TrainEvalCallback()]+cbs\n\n"
    "    @property\n    def opt(self):       return self.learn.opt\n"
    "    @property\n    def model(self):     return self.learn.model\n"
    "    @property\n    def loss_func(self): return self.learn.loss_func\n"
    "    @property\n    def data(self):      return self.learn.data\n\n"
    "    def one_batch(self, xb, yb):\n        self.xb,self.yb = xb,yb\n"
    "        if self('begin_batch'): return\n        self.pred = self.model(self.xb)\n"
    "        if self('after_pred'): return\n        self.loss = self.loss_func(self.pred, self.yb)\n"
    "        if self('after_loss') or not self.in_train: return\n        self.loss.backward()\n"
    "        if self('after_backward'): return\n        self.opt.step()\n"
    "        if self('after_step'): return\n        self.opt.zero_grad()\n\n"
    "    def all_batches(self, dl):\n        self.iters = len(dl)\n        for xb,yb in dl:\n"
    "            if self.stop: break\n            self.one_batch(xb, yb)\n            self('after_batch')\n"
    "        self.stop=False\n\n    def fit(self, epochs, learn):\n        self.epochs,self.learn = epochs,learn\n\n"
    "        try:\n            for cb in self.cbs: cb.set_runner(self)\n            if self('begin_fit'): return\n"
    "            for epoch in range(epochs):\n                self.epoch = epoch\n"
    "                if not self('begin_epoch'): self.all_batches(self.data.train_dl)\n\n"
    "                with torch.no_grad(): \n"
    "                    if not self('begin_validate'): self.all_batches(self.data.valid_dl)\n"
    "                if self('after_epoch'): break\n\n        finally:\n            self('after_fit')\n"
    "            self.learn = None\n\n    def __call__(self, cb_name):\n"
    "        for cb in sorted(self.cbs, key=lambda x: x._order):\n"
    "            f = getattr(cb, cb_name, None)\n            if f and f(): return True\n        return False",
    "#export\nclass AvgStats():\n    def __init__(self, metrics, in_train): "
    "self.metrics,self.in_train = listify(metrics),in_train\n\n    def reset(self):\n"
    "        self.tot_loss,self.count = 0.,0\n        self.tot_mets = [0.] * len(self.metrics)\n\n"
    "    @property\n    def all_stats(self): return [self.tot_loss.item()] + self.tot_mets\n"
    "    @property\n    def avg_stats(self): return [o/self.count for o in self.all_stats]\n\n"
    "    def accumulate(self, run):\n        bn = run.xb.shape[0]\n        self.tot_loss += run.loss * bn\n"
    "        self.count += bn\n        for i,m in enumerate(self.metrics):\n"
    "            self.tot_mets[i] += m(run.pred, run.yb) * bn\n\n"
    "class AvgStatsCallback(Callback):\n    def __init__(self, metrics):\n"
    "        self.train_stats,self.valid_stats = AvgStats(metrics,True),AvgStats(metrics,False)\n\n"
    "    def begin_epoch(self):\n        self.train_stats.reset()\n        self.valid_stats.reset()\n\n"
    "    def after_loss(self):\n        stats = self.train_stats if self.in_train else self.valid_stats\n"
    "        with torch.no_grad(): stats.accumulate(self.run)\n\n    def after_epoch(self):\n"
    "        print(self.train_stats)\n        print(self.valid_stats)",
    "learn = Learner(*get_model(data), loss_func, data)\nstats = AvgStatsCallback([accuracy])\n"
    "run = Runner(cbs=stats)\nrun.fit(2, learn)",
    "#export\nfrom functools import partial",
    "acc_cbf = partial(AvgStatsCallback,accuracy)\nrun = Runner(cb_funcs=acc_cbf)",
    "!python notebook2script.py 04_callbacks.ipynb",
]

ANNEAL_05 = [
    "%load_ext autoreload\n%autoreload 2\n\n%matplotlib inline",
    "#export\nfrom exp.nb_04 import *",
    md("## Initial setup"),
    "x_train,y_train,x_valid,y_valid = get_data()\ntrain_ds,valid_ds = Dataset(x_train, y_train),Dataset(x_valid, y_valid)\n"
    "nh,bs = 50,512\nc = y_train.max().item()+1\nloss_func = F.cross_entropy",
    "data = DataBunch(*get_dls(train_ds, valid_ds, bs), c)",
    "#export\ndef create_learner(model_func, loss_func, data):\n    return Learner(*model_func(data), loss_func, data)",
    "learn = create_learner(get_model, loss_func, data)\nrun = Runner([AvgStatsCallback([accuracy])])\n\nrun.fit(3, learn)",
    "#export\ndef get_model_func(lr=0.5): return partial(get_model, lr=lr)",
    md("## Annealing"),
    "#export\nclass Recorder(Callback):\n    def begin_fit(self): self.lrs,self.losses = [],[]\n\n"
    "    def after_batch(self):\n        if not self.in_train: return\n"
    "        self.lrs.append(self.opt.param_groups[-1]['lr'])\n        self.losses.append(self.loss.detach().cpu())\n\n"
    "    def plot_lr  (self): plt.plot(self.lrs)\n    def plot_loss(self): plt.plot(self.losses)\n\n"
    "class ParamScheduler(Callback):\n    _order=1\n"
    "    def __init__(self, pname, sched_func): self.pname,self.sched_func = pname,sched_func\n\n"
    "    def set_param(self):\n        for pg in self.opt.param_groups:\n"
    "            pg[self.pname] = self.sched_func(self.n_epochs/self.epochs)\n\n"
    "    def begin_batch(self): \n        if self.in_train: self.set_param()",
    "def sched_lin(start, end):\n    def _inner(start, end, pos): return start + pos*(end-start)\n"
    "    return partial(_inner, start, end)",
    "#export\ndef annealer(f):\n    def _inner(start, end): return partial(f, start, end)\n    return _inner\n\n"
    "@annealer\ndef sched_lin(start, end, pos): return start + pos*(end-start)",
    "f = sched_lin(1,2)\nf(0.3)",
    "#export\n@annealer\ndef sched_cos(start, end, pos): return start + (1 + math.cos(math.pi*(1-pos))) * (end-start) / 2\n"
    "@annealer\ndef sched_no(start, end, pos):  return start\n"
    "@annealer\ndef sched_exp(start, end, pos): return start * (end/start) ** pos\n\n"
    "def cos_1cycle_anneal(start, high, end):\n    return [sched_cos(start, high), sched_cos(high, end)]\n\n"
    "#This monkey-patch is there to be able to plot tensors\ntorch.Tensor.ndim = property(lambda x: len(x.shape))",
    "annealings = \"NO LINEAR COS EXP\".split()\n\na = torch.arange(0, 100)\np = torch.linspace(0.01,1,100)\n\n"
    "fns = [sched_no, sched_lin, sched_cos, sched_exp]\nfor fn, t in zip(fns, annealings):\n"
    "    f = fn(2, 1e-2)\n    plt.plot(a, [f(o) for o in p], label=t)\nplt.legend();",
    "#export\ndef combine_scheds(pcts, scheds):\n    assert sum(pcts) == 1.\n    pcts = tensor([0] + listify(pcts))\n"
    "    assert torch.all(pcts >= 0)\n    pcts = torch.cumsum(pcts, 0)\n    def _inner(pos):\n"
    "        idx = (pos >= pcts).nonzero().max()\n        if idx == 2: idx = 1\n"
    "        actual_pos = (pos-pcts[idx]) / (pcts[idx+1]-pcts[idx])\n        return scheds[idx](actual_pos)\n"
    "    return _inner",
    "sched = combine_scheds([0.3, 0.7], [sched_cos(0.3, 0.6), sched_cos(0.6, 0.2)]) ",
    "plt.plot(a, [sched(o) for o in p])",
    "cbfs = [Recorder,\n        partial(AvgStatsCallback,accuracy),\n        partial(ParamScheduler, 'lr', sched)]",
    "learn = create_learner(get_model_func(0.3), loss_func, data)\nrun = Runner(cb_funcs=cbfs)",
    "run.fit(3, learn)",
    "run.recorder.plot_lr()",
    "!./notebook2script.py 05_anneal.ipynb",
]

EARLY_STOPPING_05B = [
    "%load_ext autoreload\n%autoreload 2\n\n%matplotlib inline",
    "#export\nfrom exp.nb_05 import *",
    md("## Early stopping"),
    "x_train,y_train,x_valid,y_valid = get_data()\ntrain_ds,valid_ds = Dataset(x_train, y_train),Dataset(x_valid, y_valid)\n"
    "nh,bs = 50,512\nc = y_train.max().item()+1\nloss_func = F.cross_entropy",
    "data = DataBunch(*get_dls(train_ds, valid_ds, bs), c)",
    "#export\nclass Callback():\n    _order=0\n    def set_runner(self, run): self.run=run\n"
    "    def __getattr__(self, k): return getattr(self.run, k)\n    \n    @property\n    def name(self):\n"
    "        name = re.sub(r'Callback$', '', self.__class__.__name__)\n        return camel2snake(name or 'callback')\n    \n"
    "    def __call__(self, cb_name):\n        f = getattr(self, cb_name, None)\n        if f and f(): return True\n"
    "        return False\n\nclass TrainEvalCallback(Callback):\n    def begin_fit(self):\n        self.run.n_epochs=0.\n"
    "        self.run.n_iter=0\n    \n    def after_batch(self):\n        if not self.in_train: return\n"
    "        self.run.n_epochs += 1./self.iters\n        self.run.n_iter   += 1\n        \n    def begin_epoch(self):\n"
    "        self.run.n_epochs=self.epoch\n        self.model.train()\n        self.run.in_train=True\n\n"
    "    def begin_validate(self):\n        self.model.eval()\n        self.run.in_train=False\n\n"
    "class CancelTrainException(Exception): pass\nclass CancelEpochException(Exception): pass\n"
    "class CancelBatchException(Exception): pass",
    "#export\nclass Runner():\n    def __init__(self, cbs=None, cb_funcs=None):\n        self.in_train = False\n"
    "        cbs = listify(cbs)\n        for cbf in listify(cb_funcs):\n            cb = cbf()\n"
    "            setattr(self, cb.name, cb)\n            cbs.append(cb)\n        self.stop,self.cbs = False,[TrainEvalCallback()]+cbs\n\n"
    "    @property\n    def opt(self):       return self.learn.opt\n    @property\n    def model(self):     return self.learn.model\n"
    "    @property\n    def loss_func(self): return self.learn.loss_func\n    @property\n    def data(self):      return self.learn.data\n\n"
    "    def one_batch(self, xb, yb):\n        try:\n            self.xb,self.yb = xb,yb\n            self('begin_batch')\n"
    "            self.pred = self.model(self.xb)\n            self('after_pred')\n"
    "            self.loss = self.loss_func(self.pred, self.yb)\n            self('after_loss')\n"
    "            if not self.in_train: return\n            self.loss.backward()\n            self('after_backward')\n"
    "            self.opt.step()\n            self('after_step')\n            self.opt.zero_grad()\n"
    "        except CancelBatchException: self('after_cancel_batch')\n        finally: self('after_batch')\n\n"
    "    def all_batches(self, dl):\n        self.iters = len(dl)\n        try:\n"
    "            for xb,yb in dl: self.one_batch(xb, yb)\n        except CancelEpochException: self('after_cancel_epoch')\n\n"
    "    def fit(self, epochs, learn):\n        self.epochs,self.learn,self.loss = epochs,learn,tensor(0.)\n\n"
    "        try:\n            for cb in self.cbs: cb.set_runner(self)\n            self('begin_fit')\n"
    "            for epoch in range(epochs):\n                self.epoch = epoch\n"
    "                if not self('begin_epoch'): self.all_batches(self.data.train_dl)\n\n"
    "                with torch.no_grad(): \n"
    "                    if not self('begin_validate'): self.all_batches(self.data.valid_dl)\n"
    "                self('after_epoch')\n            \n        except CancelTrainException: self('after_cancel_train')\n"
    "        finally:\n            self('after_fit')\n            self.learn = None\n\n"
    "    def __call__(self, cb_name):\n        res = False\n"
    "        for cb in sorted(self.cbs, key=lambda x: x._order): res = cb(cb_name) or res\n        return res",
    "learn = create_learner(get_model, loss_func, data)",
    "class TestCallback(Callback):\n    _order=1\n    def after_step(self):\n        print(self.n_iter)\n"
    "        if self.n_iter>=10: raise CancelTrainException()",
    "run = Runner(cb_funcs=TestCallback)",
    "run.fit(3, learn)",
    md("### Other callbacks"),
    "#export\nclass AvgStatsCallback(Callback):\n    def __init__(self, metrics):\n"
    "        self.train_stats,self.valid_stats = AvgStats(metrics,True),AvgStats(metrics,False)\n        \n"
    "    def begin_epoch(self):\n        self.train_stats.reset()\n        self.valid_stats.reset()\n        \n"
    "    def after_loss(self):\n        stats = self.train_stats if self.in_train else self.valid_stats\n"
    "        with torch.no_grad(): stats.accumulate(self.run)\n    \n    def after_epoch(self):\n"
    "        print(self.train_stats)\n        print(self.valid_stats)\n        \n"
    "class Recorder(Callback):\n    def begin_fit(self):\n        self.lrs = [[] for _ in self.opt.param_groups]\n"
    "        self.losses = []\n\n    def after_batch(self):\n        if not self.in_train: return\n"
    "        for pg,lr in zip(self.opt.param_groups,self.lrs): lr.append(pg['lr'])\n"
    "        self.losses.append(self.loss.detach().cpu())        \n\n"
    "    def plot_lr  (self, pgid=-1): plt.plot(self.lrs[pgid])\n"
    "    def plot_loss(self, skip_last=0): plt.plot(self.losses[:len(self.losses)-skip_last])\n        \n"
    "    def plot(self, skip_last=0, pgid=-1):\n        losses = [o.item() for o in self.losses]\n"
    "        lrs    = self.lrs[pgid]\n        n = len(losses)-skip_last\n        plt.xscale('log')\n"
    "        plt.plot(lrs[:n], losses[:n])\n\nclass ParamScheduler(Callback):\n    _order=1\n"
    "    def __init__(self, pname, sched_funcs): self.pname,self.sched_funcs = pname,sched_funcs\n        \n"
    "    def begin_fit(self):\n        if not isinstance(self.sched_funcs, (list,tuple)):\n"
    "            self.sched_funcs = [self.sched_funcs] * len(self.opt.param_groups)\n\n    def set_param(self):\n"
    "        assert len(self.opt.param_groups)==len(self.sched_funcs)\n"
    "        for pg,f in zip(self.opt.param_groups,self.sched_funcs):\n"
    "            pg[self.pname] = f(self.n_epochs/self.epochs)\n            \n    def begin_batch(self): \n"
    "        if self.in_train: self.set_param()",
    md("### LR Finder"),
    "class LR_Find(Callback):\n    _order=1\n    def __init__(self, max_iter=100, min_lr=1e-6, max_lr=10):\n"
    "        self.max_iter,self.min_lr,self.max_lr = max_iter,min_lr,max_lr\n        self.best_loss = 1e9\n        \n"
    "    def begin_batch(self): \n        if not self.in_train: return\n        pos = self.n_iter/self.max_iter\n"
    "        lr = self.min_lr * (self.max_lr/self.min_lr) ** pos\n        for pg in self.opt.param_groups: pg['lr'] = lr\n"
    "            \n    def after_step(self):\n        if self.n_iter>=self.max_iter or self.loss>self.best_loss*10:\n"
    "            raise CancelTrainException()\n        if self.loss < self.best_loss: self.best_loss = self.loss",
    "learn = create_learner(get_model, loss_func, data)",
    "run = Runner(cb_funcs=[LR_Find, Recorder])",
    "run.fit(2, learn)",
    "run.recorder.plot(skip_last=5)",
    "!python notebook2script.py 05b_early_stopping.ipynb",
]
# The course's combine_scheds (`if idx == 2: idx = 1`) runs the second schedule through the
# third phase of three: the one difference of lessons 05-05b, which fails 5.6 only.
COURSE_DIFFERENCES = {"5.6": "idx == 2"}

# Notebook 06 as the course writes it (its prose left out): it imports ``exp.nb_05b``, which a
# submission of lessons 00-04 does not have, and uses lesson 05's Recorder and schedulers in
# exploration cells; the tasks of lesson 06 are graded on its definitions all the same.
CNN_HOOKS_06 = [
    '%load_ext autoreload\n'
    '%autoreload 2\n'
    '\n'
    '%matplotlib inline',
    '#export\n'
    'from exp.nb_05b import *\n'
    'torch.set_num_threads(2)',
    md('## ConvNet'),
    'x_train,y_train,x_valid,y_valid = get_data()',
    '#export\n'
    'def normalize_to(train, valid):\n'
    '    m,s = train.mean(),train.std()\n'
    '    return normalize(train, m, s), normalize(valid, m, s)',
    'x_train,x_valid = normalize_to(x_train,x_valid)\n'
    'train_ds,valid_ds = Dataset(x_train, y_train),Dataset(x_valid, y_valid)',
    'x_train.mean(),x_train.std()',
    'nh,bs = 50,512\n'
    'c = y_train.max().item()+1\n'
    'loss_func = F.cross_entropy\n'
    '\n'
    'data = DataBunch(*get_dls(train_ds, valid_ds, bs), c)',
    '#export\n'
    'class Lambda(nn.Module):\n'
    '    def __init__(self, func):\n'
    '        super().__init__()\n'
    '        self.func = func\n'
    '\n'
    '    def forward(self, x): return self.func(x)\n'
    '\n'
    'def flatten(x):      return x.view(x.shape[0], -1)',
    'def mnist_resize(x): return x.view(-1, 1, 28, 28)',
    'def get_cnn_model(data):\n'
    '    return nn.Sequential(\n'
    '        Lambda(mnist_resize),\n'
    '        nn.Conv2d( 1, 8, 5, padding=2,stride=2), nn.ReLU(), #14\n'
    '        nn.Conv2d( 8,16, 3, padding=1,stride=2), nn.ReLU(), # 7\n'
    '        nn.Conv2d(16,32, 3, padding=1,stride=2), nn.ReLU(), # 4\n'
    '        nn.Conv2d(32,32, 3, padding=1,stride=2), nn.ReLU(), # 2\n'
    '        nn.AdaptiveAvgPool2d(1),\n'
    '        Lambda(flatten),\n'
    '        nn.Linear(32,data.c)\n'
    '    )',
    'model = get_cnn_model(data)',
    'cbfs = [Recorder, partial(AvgStatsCallback,accuracy)]',
    'opt = optim.SGD(model.parameters(), lr=0.4)\n'
    'learn = Learner(model, opt, loss_func, data)\n'
    'run = Runner(cb_funcs=cbfs)',
    '%time run.fit(1, learn)',
    md('## CUDA'),
    '# Somewhat more flexible way\n'
    "device = torch.device('cuda',0)",
    'class CudaCallback(Callback):\n'
    '    def __init__(self,device): self.device=device\n'
    '    def begin_fit(self): self.model.to(self.device)\n'
    '    def begin_batch(self): self.run.xb,self.run.yb = self.xb.to(self.device),self.yb.to(self.device)',
    '# Somewhat less flexible, but quite convenient\n'
    'torch.cuda.set_device(device)',
    '#export\n'
    'class CudaCallback(Callback):\n'
    '    def begin_fit(self): self.model.cuda()\n'
    '    def begin_batch(self): self.run.xb,self.run.yb = self.xb.cuda(),self.yb.cuda()',
    'cbfs.append(CudaCallback)',
    'model = get_cnn_model(data)',
    'opt = optim.SGD(model.parameters(), lr=0.4)\n'
    'learn = Learner(model, opt, loss_func, data)\n'
    'run = Runner(cb_funcs=cbfs)',
    '%time run.fit(3, learn)',
    md('## Refactor model'),
    'def conv2d(ni, nf, ks=3, stride=2):\n'
    '    return nn.Sequential(\n'
    '        nn.Conv2d(ni, nf, ks, padding=ks//2, stride=stride), nn.ReLU())',
    '#export\n'
    'class BatchTransformXCallback(Callback):\n'
    '    _order=2\n'
    '    def __init__(self, tfm): self.tfm = tfm\n'
    '    def begin_batch(self): self.run.xb = self.tfm(self.xb)\n'
    '\n'
    'def view_tfm(*size):\n'
    '    def _inner(x): return x.view(*((-1,)+size))\n'
    '    return _inner',
    'mnist_view = view_tfm(1,28,28)\n'
    'cbfs.append(partial(BatchTransformXCallback, mnist_view))',
    'nfs = [8,16,32,32]',
    'def get_cnn_layers(data, nfs):\n'
    '    nfs = [1] + nfs\n'
    '    return [\n'
    '        conv2d(nfs[i], nfs[i+1], 5 if i==0 else 3)\n'
    '        for i in range(len(nfs)-1)\n'
    '    ] + [nn.AdaptiveAvgPool2d(1), Lambda(flatten), nn.Linear(nfs[-1], data.c)]\n'
    '\n'
    'def get_cnn_model(data, nfs): return nn.Sequential(*get_cnn_layers(data, nfs))',
    '#export\n'
    'def get_runner(model, data, lr=0.6, cbs=None, opt_func=None, loss_func = F.cross_entropy):\n'
    '    if opt_func is None: opt_func = optim.SGD\n'
    '    opt = opt_func(model.parameters(), lr=lr)\n'
    '    learn = Learner(model, opt, loss_func, data)\n'
    '    return learn, Runner(cb_funcs=listify(cbs))',
    'model = get_cnn_model(data, nfs)\n'
    'learn,run = get_runner(model, data, lr=0.4, cbs=cbfs)',
    'model',
    'run.fit(3, learn)',
    md('## Hooks'),
    md('### Manual insertion'),
    'class SequentialModel(nn.Module):\n'
    '    def __init__(self, *layers):\n'
    '        super().__init__()\n'
    '        self.layers = nn.ModuleList(layers)\n'
    '        self.act_means = [[] for _ in layers]\n'
    '        self.act_stds  = [[] for _ in layers]\n'
    '        \n'
    '    def __call__(self, x):\n'
    '        for i,l in enumerate(self.layers):\n'
    '            x = l(x)\n'
    '            self.act_means[i].append(x.data.mean())\n'
    '            self.act_stds [i].append(x.data.std ())\n'
    '        return x\n'
    '    \n'
    '    def __iter__(self): return iter(self.layers)',
    'model =  SequentialModel(*get_cnn_layers(data, nfs))\n'
    'learn,run = get_runner(model, data, lr=0.9, cbs=cbfs)',
    'run.fit(2, learn)',
    'for l in model.act_means: plt.plot(l)\n'
    'plt.legend(range(6));',
    'for l in model.act_stds: plt.plot(l)\n'
    'plt.legend(range(6));',
    'for l in model.act_means: plt.plot(l[:10])\n'
    'plt.legend(range(6));',
    'for l in model.act_stds: plt.plot(l[:10])\n'
    'plt.legend(range(6));',
    md('### Pytorch hooks'),
    'model = get_cnn_model(data, nfs)\n'
    'learn,run = get_runner(model, data, lr=0.5, cbs=cbfs)',
    'act_means = [[] for _ in model]\n'
    'act_stds  = [[] for _ in model]',
    'def append_stats(i, mod, inp, outp):\n'
    '    act_means[i].append(outp.data.mean())\n'
    '    act_stds [i].append(outp.data.std())',
    'for i,m in enumerate(model): m.register_forward_hook(partial(append_stats, i))',
    'run.fit(1, learn)',
    'for o in act_means: plt.plot(o)\n'
    'plt.legend(range(5));',
    md('### Hook class'),
    '#export\n'
    'def children(m): return list(m.children())\n'
    '\n'
    'class Hook():\n'
    '    def __init__(self, m, f): self.hook = m.register_forward_hook(partial(f, self))\n'
    '    def remove(self): self.hook.remove()\n'
    '    def __del__(self): self.remove()\n'
    '\n'
    'def append_stats(hook, mod, inp, outp):\n'
    "    if not hasattr(hook,'stats'): hook.stats = ([],[])\n"
    '    means,stds = hook.stats\n'
    '    means.append(outp.data.mean())\n'
    '    stds .append(outp.data.std())',
    'model = get_cnn_model(data, nfs)\n'
    'learn,run = get_runner(model, data, lr=0.5, cbs=cbfs)',
    'hooks = [Hook(l, append_stats) for l in children(model[:4])]',
    'run.fit(1, learn)',
    'for h in hooks:\n'
    '    plt.plot(h.stats[0])\n'
    '    h.remove()\n'
    'plt.legend(range(4));',
    md('### A Hooks class'),
    '#export\n'
    'class ListContainer():\n'
    '    def __init__(self, items): self.items = listify(items)\n'
    '    def __getitem__(self, idx):\n'
    '        if isinstance(idx, (int,slice)): return self.items[idx]\n'
    '        if isinstance(idx[0],bool):\n'
    '            assert len(idx)==len(self) # bool mask\n'
    '            return [o for m,o in zip(idx,self.items) if m]\n'
    '        return [self.items[i] for i in idx]\n'
    '    def __len__(self): return len(self.items)\n'
    '    def __iter__(self): return iter(self.items)\n'
    '    def __setitem__(self, i, o): self.items[i] = o\n'
    '    def __delitem__(self, i): del(self.items[i])\n'
    '    def __repr__(self):\n'
    "        res = f'{self.__class__.__name__} ({len(self)} items)\\n{self.items[:10]}'\n"
    "        if len(self)>10: res = res[:-1]+ '...]'\n"
    '        return res',
    'ListContainer(range(10))',
    'ListContainer(range(100))',
    't = ListContainer(range(10))\n'
    't[[1,2]], t[[False]*8 + [True,False]]',
    '#export\n'
    'from torch.nn import init\n'
    '\n'
    'class Hooks(ListContainer):\n'
    '    def __init__(self, ms, f): super().__init__([Hook(m, f) for m in ms])\n'
    '    def __enter__(self, *args): return self\n'
    '    def __exit__ (self, *args): self.remove()\n'
    '    def __del__(self): self.remove()\n'
    '\n'
    '    def __delitem__(self, i):\n'
    '        self[i].remove()\n'
    '        super().__delitem__(i)\n'
    '        \n'
    '    def remove(self):\n'
    '        for h in self: h.remove()',
    'model = get_cnn_model(data, nfs).cuda()\n'
    'learn,run = get_runner(model, data, lr=0.9, cbs=cbfs)',
    'hooks = Hooks(model, append_stats)\n'
    'hooks',
    'hooks.remove()',
    'x,y = next(iter(data.train_dl))\n'
    'x = mnist_resize(x).cuda()',
    'x.mean(),x.std()',
    'p = model[0](x)\n'
    'p.mean(),p.std()',
    'for l in model:\n'
    '    if isinstance(l, nn.Sequential):\n'
    '        init.kaiming_normal_(l[0].weight)\n'
    '        l[0].bias.data.zero_()',
    'p = model[0](x)\n'
    'p.mean(),p.std()',
    'with Hooks(model, append_stats) as hooks:\n'
    '    run.fit(2, learn)\n'
    '    fig,(ax0,ax1) = plt.subplots(1,2, figsize=(10,4))\n'
    '    for h in hooks:\n'
    '        ms,ss = h.stats\n'
    '        ax0.plot(ms[:10])\n'
    '        ax1.plot(ss[:10])\n'
    '    plt.legend(range(6));\n'
    '    \n'
    '    fig,(ax0,ax1) = plt.subplots(1,2, figsize=(10,4))\n'
    '    for h in hooks:\n'
    '        ms,ss = h.stats\n'
    '        ax0.plot(ms)\n'
    '        ax1.plot(ss)\n'
    '    plt.legend(range(6));',
    md('### Other statistics'),
    'def append_stats(hook, mod, inp, outp):\n'
    "    if not hasattr(hook,'stats'): hook.stats = ([],[],[])\n"
    '    means,stds,hists = hook.stats\n'
    '    means.append(outp.data.mean().cpu())\n'
    '    stds .append(outp.data.std().cpu())\n'
    "    hists.append(outp.data.cpu().histc(40,0,10)) #histc isn't implemented on the GPU",
    'model = get_cnn_model(data, nfs).cuda()\n'
    'learn,run = get_runner(model, data, lr=0.9, cbs=cbfs)',
    'for l in model:\n'
    '    if isinstance(l, nn.Sequential):\n'
    '        init.kaiming_normal_(l[0].weight)\n'
    '        l[0].bias.data.zero_()',
    'with Hooks(model, append_stats) as hooks: run.fit(1, learn)',
    '# Thanks to @ste for initial version of histgram plotting code\n'
    'def get_hist(h): return torch.stack(h.stats[2]).t().float().log1p()',
    'fig,axes = plt.subplots(2,2, figsize=(15,6))\n'
    'for ax,h in zip(axes.flatten(), hooks[:4]):\n'
    "    ax.imshow(get_hist(h), origin='lower')\n"
    "    ax.axis('off')\n"
    'plt.tight_layout()',
    'def get_min(h):\n'
    '    h1 = torch.stack(h.stats[2]).t().float()\n'
    '    return h1[:2].sum(0)/h1.sum(0)',
    'fig,axes = plt.subplots(2,2, figsize=(15,6))\n'
    'for ax,h in zip(axes.flatten(), hooks[:4]):\n'
    '    ax.plot(get_min(h))\n'
    '    ax.set_ylim(0,1)\n'
    'plt.tight_layout()',
    md('## Generalized ReLU'),
    '#export\n'
    'def get_cnn_layers(data, nfs, layer, **kwargs):\n'
    '    nfs = [1] + nfs\n'
    '    return [layer(nfs[i], nfs[i+1], 5 if i==0 else 3, **kwargs)\n'
    '            for i in range(len(nfs)-1)] + [\n'
    '        nn.AdaptiveAvgPool2d(1), Lambda(flatten), nn.Linear(nfs[-1], data.c)]\n'
    '\n'
    'def conv_layer(ni, nf, ks=3, stride=2, **kwargs):\n'
    '    return nn.Sequential(\n'
    '        nn.Conv2d(ni, nf, ks, padding=ks//2, stride=stride), GeneralRelu(**kwargs))\n'
    '\n'
    'class GeneralRelu(nn.Module):\n'
    '    def __init__(self, leak=None, sub=None, maxv=None):\n'
    '        super().__init__()\n'
    '        self.leak,self.sub,self.maxv = leak,sub,maxv\n'
    '\n'
    '    def forward(self, x): \n'
    '        x = F.leaky_relu(x,self.leak) if self.leak is not None else F.relu(x)\n'
    '        if self.sub is not None: x.sub_(self.sub)\n'
    '        if self.maxv is not None: x.clamp_max_(self.maxv)\n'
    '        return x\n'
    '\n'
    'def init_cnn(m, uniform=False):\n'
    '    f = init.kaiming_uniform_ if uniform else init.kaiming_normal_\n'
    '    for l in m:\n'
    '        if isinstance(l, nn.Sequential):\n'
    '            f(l[0].weight, a=0.1)\n'
    '            l[0].bias.data.zero_()\n'
    '\n'
    'def get_cnn_model(data, nfs, layer, **kwargs):\n'
    '    return nn.Sequential(*get_cnn_layers(data, nfs, layer, **kwargs))',
    'def append_stats(hook, mod, inp, outp):\n'
    "    if not hasattr(hook,'stats'): hook.stats = ([],[],[])\n"
    '    means,stds,hists = hook.stats\n'
    '    means.append(outp.data.mean().cpu())\n'
    '    stds .append(outp.data.std().cpu())\n'
    '    hists.append(outp.data.cpu().histc(40,-7,7))',
    'model =  get_cnn_model(data, nfs, conv_layer, leak=0.1, sub=0.4, maxv=6.)\n'
    'init_cnn(model)\n'
    'learn,run = get_runner(model, data, lr=0.9, cbs=cbfs)',
    'with Hooks(model, append_stats) as hooks:\n'
    '    run.fit(1, learn)\n'
    '    fig,(ax0,ax1) = plt.subplots(1,2, figsize=(10,4))\n'
    '    for h in hooks:\n'
    '        ms,ss,hi = h.stats\n'
    '        ax0.plot(ms[:10])\n'
    '        ax1.plot(ss[:10])\n'
    '        h.remove()\n'
    '    plt.legend(range(5));\n'
    '    \n'
    '    fig,(ax0,ax1) = plt.subplots(1,2, figsize=(10,4))\n'
    '    for h in hooks:\n'
    '        ms,ss,hi = h.stats\n'
    '        ax0.plot(ms)\n'
    '        ax1.plot(ss)\n'
    '    plt.legend(range(5));',
    'fig,axes = plt.subplots(2,2, figsize=(15,6))\n'
    'for ax,h in zip(axes.flatten(), hooks[:4]):\n'
    "    ax.imshow(get_hist(h), origin='lower')\n"
    "    ax.axis('off')\n"
    'plt.tight_layout()',
    'def get_min(h):\n'
    '    h1 = torch.stack(h.stats[2]).t().float()\n'
    '    return h1[19:22].sum(0)/h1.sum(0)',
    'fig,axes = plt.subplots(2,2, figsize=(15,6))\n'
    'for ax,h in zip(axes.flatten(), hooks[:4]):\n'
    '    ax.plot(get_min(h))\n'
    '    ax.set_ylim(0,1)\n'
    'plt.tight_layout()',
    '#export\n'
    'def get_learn_run(nfs, data, lr, layer, cbs=None, opt_func=None, uniform=False, **kwargs):\n'
    '    model = get_cnn_model(data, nfs, layer, **kwargs)\n'
    '    init_cnn(model, uniform=uniform)\n'
    '    return get_runner(model, data, lr=lr, cbs=cbs, opt_func=opt_func)',
    'sched = combine_scheds([0.5, 0.5], [sched_cos(0.2, 1.), sched_cos(1., 0.1)])',
    "learn,run = get_learn_run(nfs, data, 1., conv_layer, cbs=cbfs+[partial(ParamScheduler,'lr', sched)])",
    'run.fit(8, learn)',
    'learn,run = get_learn_run(nfs, data, 1., conv_layer, uniform=True,\n'
    "                          cbs=cbfs+[partial(ParamScheduler,'lr', sched)])",
    'run.fit(8, learn)',
]



NOTEBOOKS = {
    "00_exports.ipynb": EXPORTS_00,
    "01_matmul.ipynb": MATMUL_01,
    "02_fully_connected.ipynb": FULLY_CONNECTED_02,
    "03_minibatch_training.ipynb": MINIBATCH_03,
    "04_callbacks.ipynb": CALLBACKS_04,
    "05_anneal.ipynb": ANNEAL_05,
    "05b_early_stopping.ipynb": EARLY_STOPPING_05B,
    "06_cuda_cnn_hooks_init.ipynb": CNN_HOOKS_06,
}


def _cell(source: str):
    return new_markdown_cell(source) if isinstance(source, md) else new_code_cell(source)


def write_notebook(path, sources: list[str]):
    notebook = new_notebook(cells=[_cell(source) for source in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(path))
    return path


def write_course_notebooks(folder, replace: dict[str, str] | None = None):
    """The notebooks in ``folder``; ``replace`` maps a line above to its broken form (the
    notebook holding it is the one changed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, sources in NOTEBOOKS.items():
        for old, new in (replace or {}).items():
            if any(old in source for source in sources):
                assert sum(source.count(old) for source in sources) == 1, old
                sources = [source.replace(old, new) for source in sources]
        write_notebook(folder / name, sources)
    return folder
