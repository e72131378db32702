"""Every sentence the grader says to a student, as templates in one place."""

NOT_IMPLEMENTED = "{function} is not implemented yet: it raises NotImplementedError"
RAISED = "{function} raised {type}: {message}{where}"
SHOULD_RAISE = "{function} should raise {expected} {when}, but it returned normally"
WRONG_TYPE = "{what} should be a {expected}, got {got}"
SHAPE = "{what} has shape {got}, expected {expected}"
DTYPE = "{what} has dtype {got}, expected {expected}"
VALUES = ("{what} is wrong: largest difference {difference:.4g} at index {index} "
          "(expected {expected:.6g}, got {got:.6g})")
NOT_FINITE = "{what} contains NaN or infinite values"
NOT_SET = "{what} was not set: {hint}"
MUTATED = "{function} changed its input {argument}; it must leave its inputs untouched"
ALIASED = "{function} returned its input {argument} itself; it must return a new tensor"
MISSING = "{problem}"
CRASHED = "grading stopped: {reason} while running {function}"
OUT_OF_TIME = ("not graded: the submission's time limit of {limit:g} s ran out {during}; every task "
               "before this one was graded. Look there for a loop that runs too long")
OUT_OF_TIME_IN_CELLS = "while its cells ran"
OUT_OF_TIME_IN_TASK = "while Task {task} ({name}) was graded{where}"
DEPENDS = "This task builds on Task {task}, which fails: fix that first."
EDIT = "Edit {names} in {file}."

HINTS = {
    "mse_broadcast": ("Hint: `output - targ` with output (n, 1) and targ (n,) broadcasts to an "
                      "(n, n) matrix; take the last dimension off the output first "
                      "(`output.squeeze(-1)`)."),
    "transposed_weight_grad": ("Hint: your weight gradient is the transpose of the right one: "
                               "w.g must have w's shape (n_in, n_out), i.e. inp.t() @ out.g."),
    "missing_factor_2": "Hint: the result is half the expected value: d(x²)/dx is 2x.",
    "extra_factor_2": "Hint: the result is twice the expected value: look for a doubled factor 2.",
    "missing_mean": ("Hint: the result is n times the expected value: the mean over the n rows "
                     "divides by n, and so does its gradient."),
    "bias_grad_mean": ("Hint: b.g is the mean of out.g over the batch; the bias gradient is the "
                       "sum over the batch (`out.g.sum(0)`)."),
    "fan_in_vs_fan_out": ("Hint: the standard deviation matches sqrt(2 / n_out). He init scales by "
                          "the fan-in, n_in; with PyTorch's init on our (n_in, n_out) layout that "
                          "is mode='fan_out', because PyTorch reads dim 0 as the fan-out."),
    "relu_grad_at_zero": ("Hint: the gradient is wrong only where the input is exactly 0; relu's "
                          "gradient there is taken as 0, as autograd does (use `inp > 0`, not "
                          "`inp >= 0`)."),
    "shifted_relu": ("Hint: this is the course's shifted ReLU, `clamp_min(0.) - 0.5` (the lesson's "
                     "\"what if\" experiment); the task asks for the plain ReLU, `clamp_min(0.)`."),
    "result_shape_inner": ("Hint: the result has shape (columns of a, columns of b); it should be "
                           "(rows of a, columns of b): allocate it as `torch.zeros(ar, bc)`."),
    "returned_none": "Hint: it returned None: is a `return` missing?",
    "leak_ignored": ("Hint: negative inputs came out as 0: with a leak they keep leak times their value "
                     "(`F.leaky_relu(x, leak)`)."),
    "cap_before_sub": ("Hint: the largest values end at maxv - sub: subtract sub first, then cap at maxv."),
    "kaiming_fan_out": ("Hint: the standard deviation matches the fan-out (out channels × kernel size); "
                        "Kaiming init scales by the fan-in, PyTorch's default mode='fan_in'."),
    "valid_own_stats": ("Hint: valid was normalized with its own mean and std; use train's for both, "
                        "so the model sees the two sets the same way."),
    "relu_in_place": "Hint: `x.clamp_min_(0.)` and `x[x < 0] = 0` change x itself; use `x.clamp_min(0.)`.",
    "grad_shape_squeezed": ("Hint: inp.g must have inp's shape (n, 1); add the last dimension back "
                            "with `.unsqueeze(-1)`."),
    "numpy_returned": "Hint: convert the numpy arrays to tensors (`torch.tensor(...)`).",
    "no_inner_dim_check": ("Hint: check that the inner dimensions agree (`assert ac == br`) before "
                           "multiplying."),
    "overflow": ("Hint: exp of a large input overflows to inf. Subtract each row's maximum before "
                 "exponentiating and add it back after the log: log(sum(exp(x))) = "
                 "m + log(sum(exp(x - m)))."),
    "nll_sign": "Hint: the result has the wrong sign: the loss is minus the mean log likelihood.",
    "nll_sum": "Hint: the result is n times too large: take the mean over the rows, not the sum.",
    "nll_loop": ("Hint: pick every row's target at once with integer-array indexing, "
                 "input[range(n), target], instead of a Python loop over the rows."),
    "accuracy_count": "Hint: that is the number of correct rows; accuracy is their fraction (`.mean()`).",
    "in_place_update": ("Hint: update each parameter in place (`p -= p.grad * lr` under "
                        "torch.no_grad()); `p = p - ...` only rebinds the name."),
    "sgd_sign": "Hint: the step went uphill: subtract lr * grad from each parameter, don't add it.",
    "generator_used_up": ("Hint: model.parameters() is a generator, used up after one pass; keep "
                          "`list(params)` in __init__."),
    "drops_last_batch": ("Hint: the last, shorter batch is missing: step through range(0, n, bs) and "
                         "let the last slice be short."),
    "same_shuffle": ("Hint: the order is the same in every pass: draw the permutation in __iter__, "
                     "so each pass gets a new one."),
    "batch_mean": ("Hint: that is the mean of the batches' means; the last batch is shorter, so weigh "
                   "each batch by its size (sum loss * len(yb), divide by the number of rows)."),
    "no_grad_validation": "Hint: run the validation loop inside `with torch.no_grad():`.",
    "eval_mode": "Hint: call model.eval() before validating and model.train() before training.",
}

# Finding tasks in a submission (``locate``).
NOT_FOUND_START = "no definition for Task"
NOT_FOUND = "no definition for Task {task}: it needs {ordinal} {accepted}{where} ({count})"
METADATA_MISSING = 'the cell for Task {task} ({name}) is missing: its cell metadata says task="{task}"'
CLOSE_NAME = ("`{name}` ({where}) looks like it: to grade it as this task, ask your instructor "
              "for the alias `--alias {alias}`, or rename it")
INLINE = ("Your notebook computes {what} inline ({where}: `{code}`) but defines no function for it; "
          "the kit grades `{signature}`: wrap that code in a function with this signature")
MISSING_LESSON = "{file} is missing from the submission"
SEARCHED = "Searched {files}"
PAIR = "{graded} and {other} hold the same lesson: graded {graded} ({why}); {other} is set aside."
PAIR_FALLBACK = ("{graded} and {other} hold the same lesson: graded {graded} ({why}), and {other} where "
                 "{graded} only raises NotImplementedError ({names}).")
LATER_TWIN = ("{twin}, beside {graded}, was saved later: this grades {graded} only "
              "(grade the folder, or name {twin}, to grade that one).")
NOT_UTF8 = ("{file} is not valid {encoding}: byte 0x{byte:02x} at line {line} (and any like it) was read as "
            "\ufffd; save the file as UTF-8 (or declare its encoding: # -*- coding: latin-1 -*-)")
FALLBACK = "Note: graded from {other}: {graded} only raises NotImplementedError for it."
SIGNATURE_DIFFERS = "Hint: your `{name}` takes ({theirs}); the kit calls {kit_name}({kit}), in that order."
RENAMED_IN_CELL = ("Hint: the cell of Task {task} ({where}) defines `{name}`, not `{kit}`: rename it to `{kit}`, "
                   "or ask your instructor for the alias `--alias {task}={name}`.")
GRADED_AS = "Note: graded `{name}` ({where}) as Task {task}, {why}."
REPLACED = ("Note: `{name}` ({where}) replaced an earlier definition ({earlier}), so the earlier one "
            "is not graded.")
IMPORT_FAILED = "{where}: `{statement}` failed ({error}); the rest of the cell still ran"
GLOBALS_SET = ("Note: {function} reads {names} as globals; the grader set them to its own inputs "
               "for the call.")
OWN_STANDIN = ("Note: graded with your own {name} (task {task} {state}); instructor grading uses a "
               "working one, so this task's score may differ there.")
OWN_STANDIN_FAILS = "fails here"
OWN_STANDIN_UNGRADED = "is not graded in this run"
