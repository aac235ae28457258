import CLaminaABI
import LaminaCore

/// Wraps a C progress callback (`lamina_progress_fn` + user pointer) as a core ProgressHandler.
/// A NULL callback gives nil (no reporting). The report's strings are static and its arrays live for
/// the duration of the call, as the header promises.
func progressHandler(_ callback: lamina_progress_fn?, _ user: UnsafeMutableRawPointer?) -> ProgressHandler? {
    guard let callback else { return nil }
    return { report in
        let names: [UnsafePointer<CChar>?] = report.termNames.map {
            UnsafeRawPointer($0.utf8Start).assumingMemoryBound(to: CChar.self)
        }
        return names.withUnsafeBufferPointer { namesBuffer in
            report.terms.withUnsafeBufferPointer { termsBuffer in
                UnsafeRawPointer(report.task.utf8Start).withMemoryRebound(to: CChar.self, capacity: 1) { task in
                    var progress = lamina_progress(
                        task: task, step: Int64(report.step), total_steps: Int64(report.totalSteps),
                        items: Int64(report.items), loss: report.loss, items_per_second: report.itemsPerSecond,
                        n_terms: Int32(report.terms.count), term_names: namesBuffer.baseAddress,
                        terms: termsBuffer.baseAddress)
                    return callback(&progress, user) == 0
                }
            }
        }
    }
}
