"""Training: dataset adapters, windowing, model presets, the partial-label loss, train and evaluate."""
