#!/usr/bin/env bash
# The seed demo's flow (Occlum init-RA + Flask TLS app) as a test: see
# scripts/demo_flask.sh; includes the wrong-config_svn run that must leave no
# file and start no app, and an impostor KMS server refused by ra_config.
exec bash "${ASPS_SRC:?}/scripts/demo_flask.sh" --check
