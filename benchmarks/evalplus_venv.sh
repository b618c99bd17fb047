#!/usr/bin/env bash
# Creates .evalplus-venv/ in the repository's root: a virtualenv with EvalPlus 0.3.1, the
# oracle that benchmarks/evalplus_oracle.py runs. EvalPlus is never a dependency of the
# plugin: it lives here, apart, so that its verdicts can be compared with ours.
#
# Every package is pinned to the versions this was built and checked with (the set pip
# resolved for evalplus==0.3.1 on Python 3.11), so that the oracle is the same each time.
# With --download DIR the wheels are also kept in DIR; with --offline DIR the venv is made
# from DIR alone, with no package index.
#
#   benchmarks/evalplus_venv.sh [--python PYTHON] [--download DIR | --offline DIR]
set -euo pipefail

python=python3
wheelhouse=""
offline=0
while [ $# -gt 0 ]; do
    case "$1" in
        --python) python="$2"; shift 2 ;;
        --download) wheelhouse="$2"; shift 2 ;;
        --offline) wheelhouse="$2"; offline=1; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.evalplus-venv"
# The pins need Python 3.11 or later (numpy 2.4, pandas 3.1).
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "$python is older than Python 3.11" >&2; exit 1; }

constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
cat > "$constraints" <<'PINS'
pip==26.3
evalplus==0.3.1
annotated-doc==0.0.7
annotated-types==0.8.0
anthropic==2.15.0
anyio==4.16.0
appdirs==1.4.4
certifi==2026.10.19.post1
cffi==2.1.1
charset-normalizer==3.5.3
click==8.5.1
cryptography==50.0.2
datasets==5.2.0
dill==0.4.1
docstring_parser==0.18.0
filelock==4.3.1
fire==0.7.1
fsspec==2026.9.0
google-ai-generativelanguage==0.6.15
google-api-core==2.33.0
google-api-python-client==2.202.0
google-auth==2.63.0
google-auth-httplib2==0.4.4
google-generativeai==0.8.6
googleapis-common-protos==1.75.0
grpcio==1.85.3
grpcio-status==1.71.2
h11==0.16.0
hf-xet==1.8.0
httpcore2==2.16.2
httplib2==0.32.1
httpx2==2.16.2
huggingface_hub==2.4.0
idna==3.20
jiter==0.19.0
markdown-it-py==4.3.0
mdurl==0.1.2
multipledispatch==1.0.0
multiprocess==0.70.19
numpy==2.4.6
openai==3.57.0
opentelemetry-api==1.45.2
packaging==26.4
pandas==3.1.1
proto-plus==1.28.2
protobuf==5.29.6
psutil==7.2.2
pyarrow==26.0.1
pyasn1==0.6.5
pyasn1_modules==0.4.2
pycparser==3.12
pydantic==2.14.4
pydantic_core==2.50.5
Pygments==2.21.0
pyparsing==3.3.3
python-dateutil==4.0.0
PyYAML==6.0.4
regex==2026.11.19
requests==2.34.2
rich==15.0.0
safetensors==0.8.0
shellingham==1.5.4
sniffio==1.3.1
stop-sequencer==1.2.3
tempdir==0.7.1
termcolor==3.3.0
tokenizers==0.23.3
tqdm==4.70.1
transformers==5.24.0
tree-sitter==0.26.1
tree-sitter-python==0.25.0
truststore==0.10.5
typer==0.29.2
typing-inspection==0.4.5
typing_extensions==4.16.0
tzdata==2026.6
uritemplate==4.2.0
urllib3==2.8.0
wget==3.2
xxhash==4.1.0
PINS

index_args=()
if [ -n "$wheelhouse" ]; then
    mkdir -p "$wheelhouse"
    if [ "$offline" -eq 0 ]; then
        "$python" -m pip download -q -d "$wheelhouse" -c "$constraints" pip evalplus==0.3.1
    fi
    index_args=(--no-index --find-links "$wheelhouse")
fi

"$python" -m venv --clear "$venv"
"$venv/bin/python" -m pip install -q "${index_args[@]}" -c "$constraints" pip
"$venv/bin/python" -m pip install -q "${index_args[@]}" -c "$constraints" evalplus==0.3.1
"$venv/bin/python" -c 'import evalplus, evalplus.evaluate; assert evalplus.__version__ == "0.3.1", evalplus.__version__'
echo "EvalPlus $("$venv/bin/python" -c 'import evalplus; print(evalplus.__version__)') in $venv"
