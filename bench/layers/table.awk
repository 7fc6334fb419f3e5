# table.awk — merges the outputs of peers (OpenBLAS, oneDNN) and ort_layers.js
# (ONNX Runtime) into the markdown table of bench/layers, in peers' order.
#
#   awk -F'\t' -f table.awk ORT.tsv CHAMCC.tsv PEERS.tsv
#
# CHAMCC.tsv (tune_layers --eval) may be empty: then there are no chamcc
# columns.
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
FILENAME == ARGV[2] { cham[$1] = $0; have_cham = 1; next }
{
  if (!header++) {
    printf "| id | layer | MFLOP | OpenBLAS 1T / 2T | oneDNN 1T / 2T | oneDNN reorder ms 1T / 2T | ORT 1T / 2T |"
    if (have_cham) printf " chamcc default 1T / 2T | chamcc tuned 1T / 2T | tuned / best peer 2T |"
    printf "\n|---|---|--:|--:|--:|--:|--:|"
    if (have_cham) printf "--:|--:|--:|"
    printf "\n"
  }
  o1 = ($1 in ort1) ? ort1[$1] : "-"; o2 = ($1 in ort2) ? ort2[$1] : "-"
  printf "| %s | %s | %s | %s / %s | %s / %s | %s / %s | %s / %s |", $1, $2, num($3),
         num($4), num($5), num($6), num($7), num($8), num($9), num(o1), num(o2)
  if (have_cham) {
    split(($1 in cham) ? cham[$1] : "-\t-\t-\t-\t-", c, "\t")
    best = $5; if ($7 > best) best = $7; if (o2 != "-" && o2 > best) best = o2
    ratio = (c[5] != "-" && c[5] != "" && best > 0) ? sprintf("%.2f", c[5] / best) : "-"
    printf " %s / %s | %s / %s | %s |", num(c[2]), num(c[3]), num(c[4]), num(c[5]), ratio
  }
  printf "\n"
}
