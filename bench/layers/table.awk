# table.awk — merges the outputs of peers (OpenBLAS, oneDNN) and ort_layers.js
# (ONNX Runtime) into the markdown table of bench/layers, in peers' order.
#
#   awk -F'\t' -f table.awk ORT.tsv PEERS.tsv
#
# Both inputs are tab-separated with a header line (and maybe "#" comment
# lines); layers are joined by name.
# A layer missing from ORT.tsv gets "-" in the ORT columns.

function num(x) {  # 3 significant digits, no exponent: 71.1, 122, 3699
  if (x == "" || x == "-") return "-"
  if (x == 0) return "0"
  if (x >= 100) return sprintf("%.0f", x)
  if (x >= 10) return sprintf("%.1f", x)
  if (x >= 1) return sprintf("%.2f", x)
  return sprintf("%.3f", x)
}

/^#/ { next }                               # comments
$1 == "name" { next }                      # headers
FILENAME == ARGV[1] { ort1[$1] = $2; ort2[$1] = $3; next }
{
  if (!header++) {
    print "| id | layer | MFLOP | OpenBLAS 1T / 2T | oneDNN 1T / 2T | oneDNN reorder ms 1T / 2T | ORT 1T / 2T |"
    print "|---|---|--:|--:|--:|--:|--:|"
  }
  o1 = ($1 in ort1) ? ort1[$1] : "-"; o2 = ($1 in ort2) ? ort2[$1] : "-"
  printf "| %s | %s | %s | %s / %s | %s / %s | %s / %s | %s / %s |\n", $1, $2, num($3),
         num($4), num($5), num($6), num($7), num($8), num($9), num(o1), num(o2)
}
