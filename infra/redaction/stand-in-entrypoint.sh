#!/bin/sh
# The entrypoint of scripts/build-redaction-image's stand-in for Lambda's Python base image: it runs the
# handler its command names under the Runtime Interface Client, as the real one does when Lambda starts it.
if [ $# -ne 1 ]; then
  echo "lambda-entrypoint: the handler's name must be the only argument" >&2
  exit 142
fi
exec python3 -m awslambdaric "$1"
