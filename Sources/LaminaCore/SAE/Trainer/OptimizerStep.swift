#if canImport(Glibc)
import Glibc
#endif

// SAETrainer: the Adam update of every parameter, fused per latent row.
extension SAETrainer {
    /// Zero-fills the rows of untouched latents (for the reduction hook, which sees dense buffers).
    func densify() {
        let d = model.dIn
        for j in 0..<model.nLatents where touched[j] == 0 {
            (gWenc.p + j * d).initialize(repeating: 0, count: d)
            (gWdec.p + j * d).initialize(repeating: 0, count: d)
            touched[j] = 1
        }
    }

    /// Adam (torch's rule, as AdamState.apply) on every parameter, fused per latent row: W_enc row,
    /// W_dec row (then renormalised for TopK/BatchTopK), b_enc, log-threshold; then b_dec.
    func optimizerStep(lr: Float, clip: Float) {
        let (stepSize, invSqrtBias2) = beginAdam(lr: lr)
        let nl = model.nLatents, d = model.dIn
        let ge = gWenc.p, gd = gWdec.p, touch = touched.p
        let chunk = SAETrainer.latentChunk
        Parallel.forEachTask((nl + chunk - 1) / chunk) { task in
            let range = (task * chunk)..<min(nl, task * chunk + chunk)
            for j in range {
                let hasGrad = touch[j] != 0
                self.applyRow(j, hasGrad ? UnsafePointer(ge + j * d) : nil, hasGrad ? UnsafePointer(gd + j * d) : nil,
                              stepSize, invSqrtBias2, clip)
            }
            self.applySmall(range, stepSize, invSqrtBias2, clip)
        }
        AdamState.apply(model.bDec.p, gBdec.p, mBdec.p, vBdec.p, d, stepSize, invSqrtBias2, config.adam, clip)
    }

    /// Starts an Adam step: t += 1, returns (lr / (1 - b1^t), 1 / sqrt(1 - b2^t)).
    func beginAdam(lr: Float) -> (Float, Float) {
        adamStep += 1
        return AdamState.stepFactors(step: adamStep, learningRate: lr, config: config.adam)
    }

    /// Adam on the W_enc and W_dec rows of latent j (nil gradient = zero), then the W_dec row
    /// renormalised (TopK family) and its norm recorded.
    @inline(__always)
    func applyRow(_ j: Int, _ gEnc: UnsafePointer<Float>?, _ gDec: UnsafePointer<Float>?, _ stepSize: Float,
                  _ invSqrtBias2: Float, _ clip: Float = 1) {
        let d = model.dIn, o = j * d, a = config.adam
        let wd = model.wDec.p
        AdamState.apply(model.wEnc.p + o, gEnc, mWenc.p + o, vWenc.p + o, d, stepSize, invSqrtBias2, a, clip)
        AdamState.apply(wd + o, gDec, mWdec.p + o, vWdec.p + o, d, stepSize, invSqrtBias2, a, clip)
        let norm = Vec.sumSquares(wd + o, d).squareRoot()
        if objective == .fvuAuxK {
            Vec.scale(wd + o, Float(1 / (norm + Double(Float.ulpOfOne))), d)
            decNorm[j] = Float(Vec.sumSquares(wd + o, d).squareRoot())
        } else {
            decNorm[j] = Float(norm)
        }
    }

    /// Adam on b_enc (and the JumpReLU log-thresholds) of a range of latents.
    func applySmall(_ range: Range<Int>, _ stepSize: Float, _ invSqrtBias2: Float, _ clip: Float) {
        let j0 = range.lowerBound, cnt = range.count, a = config.adam
        AdamState.apply(model.bEnc.p + j0, gBenc.p + j0, mBenc.p + j0, vBenc.p + j0, cnt, stepSize, invSqrtBias2, a, clip)
        if penalty == .l0JumpReLU {
            AdamState.apply(logThreshold.p + j0, gThr.p + j0, mThr.p + j0, vThr.p + j0, cnt, stepSize, invSqrtBias2, a, clip)
            for j in range { model.threshold[j] = Float(exp(Double(logThreshold[j]))) }
        }
    }
}
