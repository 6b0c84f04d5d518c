import CoreMetrics
import Dispatch
import Hummingbird
import Logging
import Prometheus
import Strata
import Synchronization

/// A job's HTTP endpoint (docs/operations.md): `/metrics` serves every
/// swift-metrics metric of the process in Prometheus' text format (the
/// engine's `MetricsReporter` and the pipeline's metrics, through
/// swift-prometheus), `/` a live dashboard (one self-contained page, no
/// external asset) that polls `/api/series`, the last minutes of the charted
/// values sampled once a second.
///
/// ```swift
/// let server = try MetricsServer.start(address: "127.0.0.1:9464")   // bootstraps swift-metrics
/// defer { server.stop() }
/// let summary = try pipeline.run()
/// ```
/// or in one call: `try pipeline.run(serving: "127.0.0.1:9464")`.
///
/// Start-up errors are thrown by `start`, before the job runs: a malformed
/// address (`.invalidArgument`), an address in use or one that does not
/// resolve (`.ioError`, with the system's reason), swift-metrics already
/// bootstrapped with another backend (`.invalidArgument`).
///
/// Cost to the job: nothing on its threads. Scrapes and dashboard polls are
/// answered on the server's event loop; the dashboard's sampler renders and
/// parses the registry once a second on a thread of its own.
///
/// Thread safety: `Sendable`. `stop()` is idempotent.
public final class MetricsServer: Sendable {
    /// What the server serves, besides the address.
    public struct Options: Sendable {
        /// The pipeline's metric prefix the dashboard charts
        /// (`PipelineOptions.metricsPrefix`). Default "strata_pipeline".
        public var pipelinePrefix = "strata_pipeline"
        /// How often the dashboard's sampler reads the metrics. Default 1 s.
        public var sampleInterval: Duration = .seconds(1)
        /// Samples the dashboard keeps (default 600: ten minutes at 1 s).
        public var history = 600

        public init() {}
    }

    /// The host it listens on, as given.
    public let host: String
    /// The port it listens on (the one the system picked, if the address asked for port 0).
    public let port: Int
    /// The registry `/metrics` serves.
    public let registry: PrometheusCollectorRegistry
    let sampler: SeriesSampler
    private let task: Mutex<Task<Void, Never>?>

    /// `http://HOST:PORT` (IPv6 hosts in brackets).
    public var url: String { host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)" }

    private init(host: String, port: Int, registry: PrometheusCollectorRegistry, sampler: SeriesSampler,
                 task: Task<Void, Never>) {
        self.host = host
        self.port = port
        self.registry = registry
        self.sampler = sampler
        self.task = Mutex(task)
    }

    /// Starts serving on `address` (`HOST:PORT`; port 0 picks a free one)
    /// and returns once the server listens; throws if it cannot (see the
    /// type's doc). `registry` nil serves the process-wide registry,
    /// bootstrapping swift-metrics with it on first use
    /// (`MetricsServer.bootstrap()`), so every metric created through
    /// `MetricsSystem.factory` afterwards shows.
    public static func start(address: String, registry: PrometheusCollectorRegistry? = nil,
                             options: Options = Options()) async throws -> MetricsServer {
        let parsed = try ServeAddress(parsing: address)
        let registry = try registry ?? bootstrap()
        let sampler = SeriesSampler(registry: registry, prefix: options.pipelinePrefix, capacity: options.history,
                                    interval: options.sampleInterval)
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(16 << 10)
            registry.emit(into: &bytes)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("/api/series") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: sampler.json())))
        }
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        // The server's own log stays off the job's output: its start-up
        // line, and the "error" Hummingbird logs when `stop()` cancels it.
        // Start-up failures are thrown by `start`.
        var logger = Logger(label: "strata-serve")
        logger.logLevel = .critical
        let started = StartSignal()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(parsed.host, port: parsed.port), serverName: nil),
            onServerRunning: { channel in started.finish(.success(channel.localAddress?.port ?? parsed.port)) },
            logger: logger)
        let task = Task {
            do {
                try await app.run()
                started.finish(.failure(StrataError(.ioError, "metrics server on \(address) stopped before it listened")))
            } catch {
                started.finish(.failure(StrataError(.ioError, "metrics server: cannot listen on \(address): \(error)")))
            }
        }
        let port: Int
        do {
            port = try await started.wait()
        } catch {
            task.cancel()
            _ = await task.value
            throw error
        }
        sampler.start()
        return MetricsServer(host: parsed.host, port: port, registry: registry, sampler: sampler, task: task)
    }

    /// `start(address:registry:options:)` for synchronous code: blocks the
    /// calling thread until the server listens or fails. Call it from a
    /// thread of your own or the main thread, not from a task on the Swift
    /// concurrency pool (use the `async` overload there).
    public static func start(address: String, registry: PrometheusCollectorRegistry? = nil,
                             options: Options = Options()) throws -> MetricsServer {
        let result = Mutex<Result<MetricsServer, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                let server = try await start(address: address, registry: registry, options: options)
                result.withLock { $0 = .success(server) }
            } catch {
                result.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }

    /// Stops serving (open connections are closed) and the sampler, and
    /// waits until both have. Idempotent.
    public func stop() async {
        guard let task = task.withLock({ t -> Task<Void, Never>? in defer { t = nil }; return t }) else { return }
        task.cancel()
        await task.value
        sampler.stop()
    }

    /// `stop()` for synchronous code (same caveat as the synchronous `start`).
    public func stop() {
        let done = DispatchSemaphore(value: 0)
        Task {
            await stop()
            done.signal()
        }
        done.wait()
    }

    // MARK: The process-wide registry

    private static let shared = Mutex<PrometheusCollectorRegistry?>(nil)

    /// The process-wide registry, bootstrapping swift-metrics
    /// (`MetricsSystem.bootstrap`) with a swift-prometheus factory over it
    /// on the first call; later calls return the same registry. Throws
    /// `.invalidArgument` if the process bootstrapped swift-metrics with
    /// another backend before (swift-metrics allows one bootstrap).
    @discardableResult
    public static func bootstrap() throws -> PrometheusCollectorRegistry {
        try shared.withLock { registry in
            if let registry { return registry }
            if let factory = MetricsSystem.factory as? PrometheusMetricsFactory {
                registry = factory.registry
                return factory.registry
            }
            guard MetricsSystem.factory is NOOPMetricsHandler else {
                throw StrataError(.invalidArgument, "metrics server: swift-metrics is already bootstrapped with "
                                  + "\(type(of: MetricsSystem.factory)); pass that backend's PrometheusCollectorRegistry "
                                  + "to MetricsServer.start, or bootstrap nothing else")
            }
            let made = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: made))
            registry = made
            return made
        }
    }
}

/// The one-shot hand-over of "listening on port P" or the start-up error
/// from the server's task to `start`.
private final class StartSignal: Sendable {
    private let state = Mutex<(Result<Int, any Error>?, CheckedContinuation<Int, any Error>?)>((nil, nil))

    func finish(_ result: Result<Int, any Error>) {
        let waiter = state.withLock { s -> CheckedContinuation<Int, any Error>? in
            guard s.0 == nil else { return nil }
            s.0 = result
            defer { s.1 = nil }
            return s.1
        }
        waiter?.resume(with: result)
    }

    func wait() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { s -> Result<Int, any Error>? in
                if let result = s.0 { return result }
                s.1 = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
