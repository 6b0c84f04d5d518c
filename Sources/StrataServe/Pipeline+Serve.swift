import Prometheus
import Strata
import StrataStreams

extension Pipeline {
    /// Runs the pipeline (`run()`) while serving its metrics and live
    /// dashboard on `address` (`HOST:PORT`, e.g. "127.0.0.1:9464"): the
    /// server starts first, so a bad address or one in use throws here
    /// before any record is read; it stops when the run ends (or fails).
    ///
    /// The pipeline must publish to what is served: `options.metricsPrefix`
    /// set (the default), and `options.metricsFactory` nil (then the
    /// process-wide registry is served and swift-metrics bootstrapped with
    /// it, see `MetricsServer.bootstrap()`) or a `PrometheusMetricsFactory`
    /// (its registry is served); anything else is `.invalidArgument`.
    ///
    /// Blocks the calling thread, as `run()` does: call it from a thread of
    /// your own or the main thread, not from the Swift concurrency pool.
    public func run(serving address: String, options serveOptions: MetricsServer.Options = MetricsServer.Options())
        throws -> PipelineSummary {
        try MetricsServer.serving(options, at: address, serveOptions) { try run() }
    }
}

extension StreamJob {
    /// Runs the job (`run(_:committers:)`) while serving its metrics and
    /// live dashboard on `address`, as `Pipeline.run(serving:options:)`
    /// does (same requirements on `options`, same errors, same threading).
    @discardableResult
    public func run(_ options: PipelineOptions, committers: [any EpochCommitter] = [], serving address: String,
                    serveOptions: MetricsServer.Options = MetricsServer.Options()) throws -> PipelineSummary {
        try MetricsServer.serving(options, at: address, serveOptions) { try run(options, committers: committers) }
    }
}

extension MetricsServer {
    /// Starts a server for a pipeline run with `options` on `address`,
    /// runs `body`, and stops the server when it returns or throws.
    static func serving(_ options: PipelineOptions, at address: String, _ serveOptions: Options,
                        _ body: () throws -> PipelineSummary) throws -> PipelineSummary {
        guard let prefix = options.metricsPrefix else {
            throw StrataError(.invalidArgument, "pipeline: serving metrics needs PipelineOptions.metricsPrefix (it is nil)")
        }
        var registry: PrometheusCollectorRegistry? = nil
        if let factory = options.metricsFactory {
            guard let prometheus = factory as? PrometheusMetricsFactory else {
                throw StrataError(.invalidArgument, "pipeline: serving metrics needs PipelineOptions.metricsFactory nil or "
                                  + "a PrometheusMetricsFactory, not \(type(of: factory))")
            }
            registry = prometheus.registry
        }
        var serveOptions = serveOptions
        serveOptions.pipelinePrefix = prefix
        let server = try MetricsServer.start(address: address, registry: registry, options: serveOptions)
        defer { server.stop() }
        return try body()
    }
}
