/// One progress report of a long-running job (training). The C boundary turns it into a
/// `lamina_progress` for the user's callback; returning `false` from a handler cancels the job, which
/// then throws `LaminaError(.cancelled)` with its state left consistent (the last completed step).
public struct ProgressReport: Sendable {
    /// A static name of the job, e.g. "sae_train", "structural_probe_train".
    public var task: StaticString
    /// Steps completed so far (1 after the first step).
    public var step: Int
    /// Steps planned, or -1 when unknown.
    public var totalSteps: Int
    /// Items (tokens, rows, sentences) processed so far.
    public var items: Int
    /// Total loss of the last step.
    public var loss: Double
    /// Items per second since the job started.
    public var itemsPerSecond: Double
    /// Named extra values of this step (loss terms, L0, dead fraction, ...); names are static.
    public var termNames: [StaticString]
    public var terms: [Double]

    public init(task: StaticString, step: Int, totalSteps: Int, items: Int, loss: Double,
                itemsPerSecond: Double, termNames: [StaticString] = [], terms: [Double] = []) {
        self.task = task
        self.step = step
        self.totalSteps = totalSteps
        self.items = items
        self.loss = loss
        self.itemsPerSecond = itemsPerSecond
        self.termNames = termNames
        self.terms = terms
    }
}

/// Called after each step; return false to cancel.
public typealias ProgressHandler = (ProgressReport) -> Bool

extension LaminaError {
    public static func cancelled(_ task: StaticString, step: Int) -> LaminaError {
        LaminaError(.cancelled, "\(task) cancelled by the progress callback after step \(step)")
    }
}
