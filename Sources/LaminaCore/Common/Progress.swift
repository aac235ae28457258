/// One progress report of a long-running job (training). The C boundary turns it into a
/// `lamina_progress` for the user's callback; returning `false` from a handler cancels the job, which
/// then throws `LaminaError(.cancelled)` with its state left consistent (the last completed step).
package struct ProgressReport: Sendable {
    /// A static name of the job, e.g. "sae_train", "structural_probe_train".
    package var task: StaticString
    /// Steps completed so far (1 after the first step).
    package var step: Int
    /// Steps planned, or -1 when unknown.
    package var totalSteps: Int
    /// Items (tokens, rows, sentences) processed so far.
    package var items: Int
    /// Total loss of the last step.
    package var loss: Double
    /// Items per second since the job started.
    package var itemsPerSecond: Double
    /// Named extra values of this step (loss terms, L0, dead fraction, ...); names are static.
    package var termNames: [StaticString]
    package var terms: [Double]

    package init(task: StaticString, step: Int, totalSteps: Int, items: Int, loss: Double,
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
package typealias ProgressHandler = (ProgressReport) -> Bool

extension LaminaError {
    package static func cancelled(_ task: StaticString, step: Int) -> LaminaError {
        LaminaError(.cancelled, "\(task) cancelled by the progress callback after step \(step)")
    }
}
