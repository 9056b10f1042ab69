#!/bin/sh
# check-layers.sh - every #include of ntmm's own headers points down the layer stack:
#   base <- host <- hw <- mm <- rt <- api
# A file in layer L may include headers of L and of the layers before it (and the public
# include/ntmm/ headers, which are the shared vocabulary). Exit 1 and name the line otherwise.
set -eu
cd "$(dirname "$0")/.."
order="base host hw mm rt api"
rank() { i=0; for l in $order; do [ "$l" = "$1" ] && { echo $i; return; }; i=$((i+1)); done; echo 99; }

for layer in $order; do
    [ -d "src/$layer" ] || continue
    r=$(rank "$layer")
    for f in $(find "src/$layer" -name '*.[ch]'); do
        grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r line; do
            inc=$(echo "$line" | sed 's/.*"\(.*\)".*/\1/')
            top=${inc%%/*}
            [ "$top" = "$inc" ] && continue            # same-directory include
            tr=$(rank "$top")
            if [ "$tr" -gt "$r" ]; then
                echo "$f:${line%%:*}: layer '$layer' includes '$inc' from the higher layer '$top'"
                echo x >> "${TMPDIR:-/tmp}/ntmm-layers.$$"
            fi
        done
    done
done
if [ -f "${TMPDIR:-/tmp}/ntmm-layers.$$" ]; then rm -f "${TMPDIR:-/tmp}/ntmm-layers.$$"; exit 1; fi
echo "layers: every include points down the stack"
