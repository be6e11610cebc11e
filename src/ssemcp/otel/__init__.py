"""OpenTelemetry tracing, the optional extra ``ssemcp[otel]`` (issue #18).

``spans`` owns the span of each request and the caller's trace context it joins;
``environment`` builds the tracer provider of ``ssemcp serve --otel`` from the standard
``OTEL_*`` variables. Nothing here is imported unless tracing is turned on
(``Server(tracer_provider=...)`` or ``--otel``), so ssemcp runs without OpenTelemetry installed.
"""
