# Reads `onnx_ops MODEL` output and prints "ok" when chamcc is expected to
# compile the model, else the reasons it is out of scope, joined by "; ".
# For `onnx_ops A B ...` (a "model PATH" line before each) it prints one line
# per model: PATH<TAB>verdict.
# The operator list is chamcc's supported set (tests/e2e/README in the
# conformance script's header); the shape-folding ops are accepted only when
# their result is a compile-time constant.
BEGIN {
  n = split("Conv Gemm MatMul Relu LeakyRelu Clip Sigmoid HardSigmoid HardSwish Tanh " \
            "Add Sub Mul Div Max Min BatchNormalization MaxPool AveragePool " \
            "GlobalAveragePool GlobalMaxPool Flatten Reshape Transpose Squeeze Unsqueeze " \
            "Concat Pad Softmax Identity Dropout Constant Exp Log Sqrt Neg Abs Reciprocal Erf " \
            "Pow PRelu ReduceMean ReduceSum ReduceMax ReduceMin Slice Split Resize Gelu " \
            "LayerNormalization", a, " ")
  for (i = 1; i <= n; i++) supported[a[i]] = 1
  n = split("Shape Gather Slice ConstantOfShape Cast Unsqueeze", a, " ")
  for (i = 1; i <= n; i++) fold[a[i]] = 1
  n = split("Conv MaxPool AveragePool GlobalAveragePool GlobalMaxPool", a, " ")
  for (i = 1; i <= n; i++) spatial[a[i]] = 1
  reset()
}
function reset() { nr = 0; params = 0; data = 0; split("", seen) }
function reason(r) { if (!(r in seen)) { seen[r] = 1; reasons[nr++] = r } }
function verdict(   s, i) {
  if (params > 0 && data == 0) reason("every input is a parameter: nothing left to run")
  if (nr == 0) return "ok"
  s = reasons[0]
  for (i = 1; i < nr; i++) s = s "; " reasons[i]
  return s
}
$1 == "model" {
  if (path != "") print path "\t" verdict()
  path = $2; reset(); next
}
$1 == "error" { reason("cannot load the model") }
function attr(name,   i) {
  for (i = 9; i <= NF; i++) if (index($i, name "=") == 1) return substr($i, length(name) + 2)
  return ""
}
function empty(dims) { return dims ~ /[\[,]0[\],]/ }
$1 == "input" && $6 == "param" { params++ }
$1 == "input" && $6 == "data" {
  data++
  if ($4 != "float") reason($4 " input")
  if ($5 ~ /\?/) reason("dynamic input shape")
  if (empty($5)) reason("empty input tensor")
}
$1 == "output" {
  if ($4 != "float") reason($4 " output")
  if ($5 ~ /\?/) reason("dynamic output shape")
  if (empty($5)) reason("empty output tensor")
}
$1 == "node" {
  op = $2; c = ($4 == "const=1"); pc = ($5 == "params_const=1")
  sp = substr($6, 4) + 0; nout = substr($7, 6) + 0; nin = substr($8, 5) + 0
  if (!(op in supported) && !(op in fold)) { reason("op " op); next }
  if (!(op in supported) && !c) { reason(op " on runtime data"); next }
  if (c) next # folded away at compile time
  if (!pc) reason(op " with a runtime parameter input")
  if ((op in spatial) && sp != 2 && sp != -1) reason(sp "-D " op)
  if (op == "BatchNormalization" && (nout > 1 || attr("training_mode") == "1"))
    reason("training-mode BatchNormalization")
  if (op == "MaxPool" && nout > 1) reason("MaxPool with an indices output")
  if (op == "Resize" && attr("mode") == "cubic") reason("Resize mode cubic")
  if (op == "Resize" && attr("coordinate_transformation_mode") == "tf_crop_and_resize")
    reason("Resize tf_crop_and_resize")
  if (op == "Dropout" && nin > 2) reason("Dropout with a training_mode input")
}
END { print (path != "" ? path "\t" : "") verdict() }
