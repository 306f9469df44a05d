#!/usr/bin/env bash
# Copy tpm2-tools' tpm2_quote and tpm2_flushcontext with everything they load into OUT, so the meridian_attest
# agent plugin can run them inside SPIRE's agent image, which has no libc, shell or tpm2-tools: OUT/bin holds the
# tools (tpm2-tools 5 is one multi-call binary dispatching on its name, copied under each name), OUT/lib the
# dynamic loader (as ld.so), every library ldd resolves and the TCTI modules the TCTI loader opens at run time
# (device for /dev/tpmrm0; swtpm and mssim for simulators). The plugin runs OUT/lib/ld.so --library-path OUT/lib
# OUT/bin/<tool> (tpm2_tools_dir). Fails if a library is left resolving outside OUT/lib.
set -euo pipefail
out=${1:?usage: tpm2-closure.sh OUTDIR}
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
quote=$(command -v tpm2_quote)
for tool in tpm2_quote tpm2_flushcontext; do cp -L "$(command -v "$tool")" "$out/bin/$tool"; done
libdir=$(dirname "$(readlink -f "$(ldd "$quote" | awk '/libtss2-tctildr/ {print $3}')")")
objs=("$quote")
for t in device swtpm mssim; do objs+=("$libdir/libtss2-tcti-$t.so.0"); done
for o in "${objs[@]}"; do
  ldd "$o" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
    case "$lib" in
    */ld-linux*) cp -L "$lib" "$out/lib/ld.so" ;;
    *) cp -L "$lib" "$out/lib/$(basename "$lib")" ;;
    esac
  done
done
for t in device swtpm mssim; do cp -L "$libdir/libtss2-tcti-$t.so.0" "$out/lib/"; done
[ -x "$out/lib/ld.so" ] || { echo "tpm2-closure: no dynamic loader found" >&2; exit 1; }
for o in "$out/bin/tpm2_quote" "$out"/lib/libtss2-tcti-*.so.0; do
  outside=$(LD_LIBRARY_PATH="$out/lib" ldd "$o" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | grep -v "^$out/lib/" || true)
  [ -z "$outside" ] || { echo "tpm2-closure: $o still loads $outside" >&2; exit 1; }
done
