"""FallWatch: frames -> pose -> tracks -> windows -> classifier -> events -> alerts.

Usage (the whole API in ten lines)::

    from edge.config import load_config
    from edge.pipeline import build_pipeline

    cfg = load_config("install/config.example.toml")
    pipeline = build_pipeline(cfg)            # source, pose, tracker, classifier, events, alerts
    summary = pipeline.run()                  # until the source ends or a signal arrives
    print(summary.format())                   # ms per stage, fps, events

`import edge` never imports a heavy library: each adapter imports its own on construction and
names the extra to install when it is missing.
"""

__version__ = "0.1.0"
