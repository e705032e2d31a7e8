/// One generation request counted in `/load` (`--enable-server-load-tracking`) while it lives:
/// the handler creates it and the response keeps it until written.
final class ServerLoadTicket: Sendable {
    private let context: ServerContext

    init(_ context: ServerContext) {
        self.context = context
        context.serverLoad.add(1, ordering: .relaxed)
    }

    deinit { context.serverLoad.subtract(1, ordering: .relaxed) }
}
