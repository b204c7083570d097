"""The edge gateway agent: watch the NVR's folders, seal each clip to the site key, upload it exactly once.

Modules, each importing only the ones listed before it:
    clock     UTC times as the archive writes them
    durable   crash-safe file writes (temp file, fsync, rename, fsync the directory)
    logs      JSON lines on stderr
    config    the TOML configuration, checked once at start
    sealing   age encryption to the site's public key, hashing
    spool     the on-disk spool: clip records, drop records, quarantine, agent state, crash recovery
    sources   where clips come from (a watched folder today; an ffmpeg segmenter later)
    api       the archive's gateway API and the presigned PUT, with typed errors
    agent     the Agent: one `run_once` step for tests, threads for the service
    status    the `status` command's report
    cli       `python -m gateway run|status --config gateway.toml`
"""

__version__ = "0.1.0"
