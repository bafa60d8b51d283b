package spatial

import (
	"math/bits"
	"runtime"
	"sync"

	gblas "gonum.org/v1/gonum/blas"

	"github.com/pgaug/pgaug/trainer/blas"
)

// geom is the full geometry of one convolution: the window plus the sizes of
// the two images it relates. The "big" image is a convolution's input and a
// transposed convolution's output; the "small" one is a convolution's output
// and a transposed convolution's input. The weight is o × c/group × kh × kw
// (OIHW for Conv, C_in × C_out/group × kH × kW for ConvTranspose, where C_in
// is the small image's channels).
type geom struct {
	attrs
	n         int
	c, h, w   int // big image
	o, oh, ow int // small image
}

func (g *geom) cg() int    { return g.c / g.group }
func (g *geom) og() int    { return g.o / g.group }
func (g *geom) kk() int    { return g.kh * g.kw }
func (g *geom) kg() int    { return g.cg() * g.kk() } // rows of the column matrix per group
func (g *geom) bigSz() int { return g.c * g.h * g.w }
func (g *geom) smlSz() int { return g.o * g.oh * g.ow }
func (g *geom) pix() int   { return g.oh * g.ow }

// direct is true when the column matrix is the big image itself: a 1×1,
// stride-1, unpadded window whose output covers the whole input.
func (g *geom) direct() bool {
	return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 &&
		g.pt == 0 && g.pl == 0 && g.pb == 0 && g.pr == 0 && g.oh == g.h && g.ow == g.w
}

// flops is the multiply-add count ×2 of one pass (forward, data or weight
// gradient).
func (g *geom) flops() float64 {
	return 2 * float64(g.n) * float64(g.o) * float64(g.pix()) * float64(g.kg())
}

// Scratch buffers (column matrices, partial sums, flipped weights) are reused
// across calls, pooled by power-of-two size class so that a small request
// never takes a large buffer away from the column matrices.
var scratchPools [64]sync.Pool

func getScratch(n int) *[]float32 {
	class := bits.Len(uint(n))
	if p, ok := scratchPools[class].Get().(*[]float32); ok {
		*p = (*p)[:n]
		return p
	}
	buf := make([]float32, n, 1<<class)
	return &buf
}

func putScratch(p *[]float32) {
	class := bits.Len(uint(cap(*p))) - 1
	if cap(*p) != 1<<class {
		return // not one of ours
	}
	scratchPools[class].Put(p)
}

// workers is how many goroutines share a batch.
func workers(n int) int {
	w := runtime.GOMAXPROCS(0)
	if w > n {
		w = n
	}
	if w < 1 {
		w = 1
	}
	return w
}

// parallel runs f over [0, n) split into contiguous chunks, one per worker.
func parallel(n int, f func(worker, lo, hi int)) {
	nw := workers(n)
	if nw == 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < nw; k++ {
		lo, hi := k*n/nw, (k+1)*n/nw
		if lo == hi {
			continue
		}
		wg.Add(1)
		go func(k, lo, hi int) {
			defer wg.Done()
			f(k, lo, hi)
		}(k, lo, hi)
	}
	wg.Wait()
}

// span gives, for an offset x0 of the input index ix = ox*s + x0, the range
// [lo, hi) of output indices whose input index lies in [0, in).
func span(x0, s, in, out int) (lo, hi int) {
	if x0 < 0 {
		lo = (-x0 + s - 1) / s
	}
	if in-x0 > 0 {
		hi = (in - x0 + s - 1) / s
	}
	if hi > out {
		hi = out
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// colsBandBytes bounds the size of a column matrix: the output rows of an
// image are processed in bands whose column matrix fits in a core's cache.
var colsBandBytes = 2 << 20

// bandRows is the number of output rows per band.
func (g *geom) bandRows() int {
	if g.direct() {
		return g.oh
	}
	r := colsBandBytes / (4 * g.c * g.kk() * g.ow)
	return max(1, min(r, g.oh))
}

func (g *geom) colsSz() int {
	if g.direct() {
		return 0
	}
	return g.c * g.kk() * g.bandRows() * g.ow
}

// im2col writes the column matrix of output rows [oy0, oy1) of one big image,
// channels [c0, c1): row (c, ki, kj), column off + (oy−oy0)·ow + ox of a
// matrix with leading dimension ld holds img[c, oy*sh−pt+ki*dh,
// ox*sw−pl+kj*dw], zero outside. One image alone has ld = (oy1−oy0)·ow and
// off 0; images sharing a column matrix (imagesPerGemm) sit side by side.
func im2col(g *geom, img, cols []float32, ld, off, c0, c1, oy0, oy1 int) {
	pc, hw := (oy1-oy0)*g.ow, g.h*g.w
	for c := c0; c < c1; c++ {
		plane := img[c*hw : (c+1)*hw]
		for ki := 0; ki < g.kh; ki++ {
			y0 := ki*g.dh - g.pt
			ylo, yhi := span(y0, g.sh, g.h, g.oh)
			ylo, yhi = max(ylo, oy0), min(yhi, oy1)
			for kj := 0; kj < g.kw; kj++ {
				x0 := kj*g.dw - g.pl
				xlo, xhi := span(x0, g.sw, g.w, g.ow)
				row := cols[((c*g.kh+ki)*g.kw+kj)*ld+off:][:pc]
				if ylo >= yhi {
					clear(row)
					continue
				}
				clear(row[:(ylo-oy0)*g.ow])
				clear(row[(yhi-oy0)*g.ow:])
				for oy := ylo; oy < yhi; oy++ {
					dst := row[(oy-oy0)*g.ow:][:g.ow]
					iy := oy*g.sh + y0
					src := plane[iy*g.w : (iy+1)*g.w]
					clear(dst[:xlo])
					clear(dst[xhi:])
					if g.sw == 1 {
						copy(dst[xlo:xhi], src[xlo+x0:])
					} else {
						for ox := xlo; ox < xhi; ox++ {
							dst[ox] = src[ox*g.sw+x0]
						}
					}
				}
			}
		}
	}
}

// col2im adds the column matrix of output rows [oy0, oy1) into one big
// image, channels [c0, c1) (the adjoint of im2col, with the same ld and
// off).
func col2im(g *geom, cols, img []float32, ld, off, c0, c1, oy0, oy1 int) {
	pc, hw := (oy1-oy0)*g.ow, g.h*g.w
	for c := c0; c < c1; c++ {
		plane := img[c*hw : (c+1)*hw]
		for ki := 0; ki < g.kh; ki++ {
			y0 := ki*g.dh - g.pt
			ylo, yhi := span(y0, g.sh, g.h, g.oh)
			ylo, yhi = max(ylo, oy0), min(yhi, oy1)
			for kj := 0; kj < g.kw; kj++ {
				x0 := kj*g.dw - g.pl
				xlo, xhi := span(x0, g.sw, g.w, g.ow)
				if xlo >= xhi {
					continue
				}
				row := cols[((c*g.kh+ki)*g.kw+kj)*ld+off:][:pc]
				for oy := ylo; oy < yhi; oy++ {
					src := row[(oy-oy0)*g.ow:][:g.ow]
					iy := oy*g.sh + y0
					dst := plane[iy*g.w : (iy+1)*g.w]
					if g.sw == 1 {
						d := dst[xlo+x0 : xhi+x0]
						s := src[xlo:xhi]
						s = s[:len(d)]
						for i := range d {
							d[i] += s[i]
						}
					} else {
						for ox := xlo; ox < xhi; ox++ {
							dst[ox*g.sw+x0] += src[ox]
						}
					}
				}
			}
		}
	}
}

func addChannelBias(data, bias []float32, c0, c1, plane int) {
	for c := c0; c < c1; c++ {
		b := bias[c]
		row := data[c*plane : (c+1)*plane]
		for i := range row {
			row[i] += b
		}
	}
}

// Parallel strategy. With a single-threaded SGEMM (gonum's pure Go BLAS
// counts as single-threaded: its goroutines share the Go scheduler) and at
// least as many images as workers, each worker takes a share of the batch and
// runs im2col, SGEMM and col2im on its images alone. Otherwise the images go
// one after the other: im2col and col2im are split by channel across the
// workers, and each SGEMM either runs on the BLAS's own threads or is split
// by output columns across the workers. Calling a multi-threaded OpenBLAS
// from several goroutines at once is avoided: its spinning threads collide
// (measured 3–4× slower).

// strategyOverride forces a strategy in tests: 0 auto, 1 split the batch, 2
// one image at a time.
var strategyOverride int

func splitBatch(n int) bool {
	switch strategyOverride {
	case 1:
		return true
	case 2:
		return false
	}
	return workers(n) > 1 && n >= workers(n) && blasThreads() <= 1
}

// gemm is C = A·B (+ beta·C) in row-major storage, with op(B)'s n columns
// split across nw goroutines unless the BLAS threads by itself.
func gemm(tA, tB gblas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, nw int) {
	bl := blas.Float32()
	if nw <= 1 || n < 2*64 || blasThreads() > 1 {
		bl.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
		return
	}
	parallel(nw, func(w, _, _ int) {
		// Chunks 16-column aligned for the BLAS kernels.
		j0, j1 := (w*n/nw)&^15, ((w+1)*n/nw)&^15
		if w == nw-1 {
			j1 = n
		}
		if j1 <= j0 {
			return
		}
		bo := j0
		if tB == gblas.Trans {
			bo = j0 * ldb
		}
		bl.Sgemm(tA, tB, m, j1-j0, k, 1, a, lda, b[bo:], ldb, beta, c[j0:], ldc)
	})
}

// perImage runs f on every image with a column-matrix scratch buffer (nil
// for direct geometries) and the number of workers f may use within the
// image.
func perImage(g *geom, split bool, f func(i int, cols []float32, nw int)) {
	if split {
		parallel(g.n, func(_, lo, hi int) {
			sp := getScratch(g.colsSz())
			defer putScratch(sp)
			for i := lo; i < hi; i++ {
				f(i, *sp, 1)
			}
		})
		return
	}
	sp := getScratch(g.colsSz())
	defer putScratch(sp)
	nw := runtime.GOMAXPROCS(0) // byChannel and gemm cap it by their sizes
	for i := 0; i < g.n; i++ {
		f(i, *sp, nw)
	}
}

// byChannel runs f over the channel range [0, c), split across nw workers.
func byChannel(c, nw int, f func(c0, c1 int)) {
	if nw > 1 {
		parallel(c, func(_, c0, c1 int) { f(c0, c1) })
		return
	}
	f(0, c)
}

// bandCols returns the column matrix of output rows [oy0, oy1) of image x
// (built in cols) and its leading dimension.
func bandCols(g *geom, x, cols []float32, oy0, oy1, nw int) ([]float32, int) {
	if g.direct() {
		return x[oy0*g.ow:], g.pix()
	}
	pc := (oy1 - oy0) * g.ow
	byChannel(g.c, nw, func(c0, c1 int) { im2col(g, x, cols, pc, 0, c0, c1, oy0, oy1) })
	return cols, pc
}

// Image batching. A convolution whose images are small (ResNet's and
// DenseNet's last stages: 7×7, 4×4, 2×2 at the sizes trained here) gives
// each image's SGEMM a few dozen columns, and the BLAS repacks the whole
// weight matrix for every one of them (ResNet-18's 4×4 stage ran at 40% of
// the machine's SGEMM rate). Such images share one column matrix instead,
// side by side, so that one SGEMM has at least minGemmCols columns; the
// output is then copied from the shared matrix to the images (N×C×H×W).
var (
	minGemmCols     = 128
	colsBatchBytes  = 8 << 20 // bound on a shared column matrix
	batchingDisable = false   // tests: one image per SGEMM
)

// imagesPerGemm is how many images share one column matrix: 1 for images
// big enough (or banded), at most a worker's share of the batch when the
// batch is split across workers.
func (g *geom) imagesPerGemm(split bool) int {
	p := g.pix()
	if batchingDisable || p == 0 || p >= minGemmCols || g.bandRows() < g.oh {
		return 1
	}
	ib := (minGemmCols + p - 1) / p
	share := g.n
	if split {
		share = (g.n + workers(g.n) - 1) / workers(g.n)
	}
	ib = min(ib, share, max(1, colsBatchBytes/(4*g.c*g.kk()*p)))
	return max(1, ib)
}

// imageGroups runs f on the image groups [i0, i1) of ib images each, with
// scratch buffers of sizes ns for f's use and the number of workers f may
// use within a group: the groups split across the workers when split is
// set, one after the other otherwise.
func imageGroups(g *geom, ib int, split bool, ns []int, f func(k, i0, i1 int, bufs [][]float32, nw int)) {
	groups := (g.n + ib - 1) / ib
	take := func() ([]*[]float32, [][]float32) {
		ps, bs := make([]*[]float32, len(ns)), make([][]float32, len(ns))
		for j, n := range ns {
			ps[j] = getScratch(n)
			bs[j] = *ps[j]
		}
		return ps, bs
	}
	give := func(ps []*[]float32) {
		for _, p := range ps {
			putScratch(p)
		}
	}
	if split {
		parallel(groups, func(k, lo, hi int) {
			ps, bs := take()
			defer give(ps)
			for j := lo; j < hi; j++ {
				f(k, j*ib, min((j+1)*ib, g.n), bs, 1)
			}
		})
		return
	}
	ps, bs := take()
	defer give(ps)
	nw := runtime.GOMAXPROCS(0)
	for j := 0; j < groups; j++ {
		f(0, j*ib, min((j+1)*ib, g.n), bs, nw)
	}
}

// groupCols writes the shared column matrix of images [i0, i1) of big
// (leading dimension (i1−i0)·pix) and returns its leading dimension.
func groupCols(g *geom, big, cols []float32, i0, i1, nw int) int {
	P := g.pix()
	ld := (i1 - i0) * P
	for i := i0; i < i1; i++ {
		x := big[i*g.bigSz() : (i+1)*g.bigSz()]
		byChannel(g.c, nw, func(c0, c1 int) { im2col(g, x, cols, ld, (i-i0)*P, c0, c1, 0, g.oh) })
	}
	return ld
}

// convForwardBatched is convForward with ib images per SGEMM.
func convForwardBatched(g *geom, big, w, bias, small []float32, ib int, split bool) {
	og, kg, P := g.og(), g.kg(), g.pix()
	ns := []int{g.c * g.kk() * ib * P, g.o * ib * P}
	imageGroups(g, ib, split, ns, func(_, i0, i1 int, bufs [][]float32, nw int) {
		cols, out := bufs[0], bufs[1]
		ld := groupCols(g, big, cols, i0, i1, nw)
		for gi := 0; gi < g.group; gi++ {
			gemm(gblas.NoTrans, gblas.NoTrans, og, ld, kg, w[gi*og*kg:], kg, cols[gi*kg*ld:], ld, 0, out[gi*og*ld:], ld, nw)
		}
		for i := i0; i < i1; i++ {
			y := small[i*g.smlSz() : (i+1)*g.smlSz()]
			for o := 0; o < g.o; o++ {
				copy(y[o*P:(o+1)*P], out[o*ld+(i-i0)*P:])
			}
			if bias != nil {
				addChannelBias(y, bias, 0, g.o, P)
			}
		}
	})
}

// convForward computes small = W ⋆ big (+ bias per small channel): Conv's
// forward pass, ConvTranspose's input gradient, and (flipped) the stride-1
// transposed convolution.
func convForward(g *geom, big, w, bias, small []float32) {
	split := splitBatch(g.n)
	if ib := g.imagesPerGemm(split); ib > 1 {
		convForwardBatched(g, big, w, bias, small, ib, split)
		return
	}
	og, kg, P, R := g.og(), g.kg(), g.pix(), g.bandRows()
	perImage(g, split, func(i int, cols []float32, nw int) {
		x := big[i*g.bigSz() : (i+1)*g.bigSz()]
		y := small[i*g.smlSz() : (i+1)*g.smlSz()]
		for oy0 := 0; oy0 < g.oh; oy0 += R {
			oy1 := min(oy0+R, g.oh)
			b, ldb := bandCols(g, x, cols, oy0, oy1, nw)
			for gi := 0; gi < g.group; gi++ {
				gemm(gblas.NoTrans, gblas.NoTrans, og, (oy1-oy0)*g.ow, kg, w[gi*og*kg:], kg,
					b[gi*kg*ldb:], ldb, 0, y[gi*og*P+oy0*g.ow:], P, nw)
			}
		}
		if bias != nil {
			addChannelBias(y, bias, 0, g.o, P)
		}
	})
}

// gatherGroup copies the images [i0, i1) of small (N×O×P) into dst as the
// O × (i1−i0)·P matrix whose columns are the images side by side.
func gatherGroup(g *geom, small, dst []float32, i0, i1 int) {
	P := g.pix()
	ld := (i1 - i0) * P
	for i := i0; i < i1; i++ {
		y := small[i*g.smlSz() : (i+1)*g.smlSz()]
		for o := 0; o < g.o; o++ {
			copy(dst[o*ld+(i-i0)*P:][:P], y[o*P:(o+1)*P])
		}
	}
}

// convBackwardDataBatched is convBackwardData's col2im path with ib images
// per SGEMM.
func convBackwardDataBatched(g *geom, small, w, bias, big []float32, ib int, split bool) {
	og, kg, P, hw := g.og(), g.kg(), g.pix(), g.h*g.w
	ns := []int{g.c * g.kk() * ib * P, g.o * ib * P}
	imageGroups(g, ib, split, ns, func(_, i0, i1 int, bufs [][]float32, nw int) {
		cols, dyb := bufs[0], bufs[1]
		ld := (i1 - i0) * P
		gatherGroup(g, small, dyb, i0, i1)
		for gi := 0; gi < g.group; gi++ {
			gemm(gblas.Trans, gblas.NoTrans, kg, ld, og, w[gi*og*kg:], kg, dyb[gi*og*ld:], ld, 0, cols[gi*kg*ld:], ld, nw)
		}
		for i := i0; i < i1; i++ {
			x := big[i*g.bigSz() : (i+1)*g.bigSz()]
			off := (i - i0) * P
			byChannel(g.c, nw, func(c0, c1 int) {
				clear(x[c0*hw : c1*hw])
				col2im(g, cols, x, ld, off, c0, c1, 0, g.oh)
			})
			if bias != nil {
				addChannelBias(x, bias, 0, g.c, hw)
			}
		}
	})
}

// convBackwardWeightBatched is convBackwardWeight with ib images per SGEMM.
func convBackwardWeightBatched(g *geom, big, small, dw []float32, ib int, split bool) {
	og, kg, P := g.og(), g.kg(), g.pix()
	nw := 1
	if split {
		nw = workers((g.n + ib - 1) / ib)
	}
	parts := make([]*[]float32, nw) // worker k > 0 accumulates into parts[k]
	started := make([]bool, nw)
	ns := []int{g.c * g.kk() * ib * P, g.o * ib * P}
	imageGroups(g, ib, split, ns, func(k, i0, i1 int, bufs [][]float32, nw int) {
		acc := dw
		if k > 0 {
			if parts[k] == nil {
				parts[k] = getScratch(len(dw))
			}
			acc = *parts[k]
		}
		beta := float32(1)
		if !started[k] {
			beta, started[k] = 0, true
		}
		cols, dyb := bufs[0], bufs[1]
		ld := groupCols(g, big, cols, i0, i1, nw)
		gatherGroup(g, small, dyb, i0, i1)
		for gi := 0; gi < g.group; gi++ {
			gemm(gblas.NoTrans, gblas.Trans, og, kg, ld, dyb[gi*og*ld:], ld, cols[gi*kg*ld:], ld, beta, acc[gi*og*kg:], kg, nw)
		}
	})
	addParts(dw, parts)
}

// convBackwardData computes big = col2im(Wᵀ · small) (+ bias per big
// channel): ConvTranspose's forward pass and Conv's input gradient.
func convBackwardData(g *geom, small, w, bias, big []float32) {
	if fg, ok := g.flipped(); ok {
		// Stride 1: a plain convolution of the small image with the flipped,
		// transposed kernel; im2col and a well-shaped SGEMM instead of a thin
		// SGEMM and col2im's scattered additions.
		wf := getScratch(len(w))
		defer putScratch(wf)
		flipWeight(g, w, *wf)
		convForward(&fg, small, *wf, bias, big)
		return
	}
	split := splitBatch(g.n)
	if ib := g.imagesPerGemm(split); ib > 1 && !g.direct() {
		convBackwardDataBatched(g, small, w, bias, big, ib, split)
		return
	}
	og, kg, cg, P, hw, R := g.og(), g.kg(), g.cg(), g.pix(), g.h*g.w, g.bandRows()
	perImage(g, split, func(i int, cols []float32, nw int) {
		y := small[i*g.smlSz() : (i+1)*g.smlSz()]
		x := big[i*g.bigSz() : (i+1)*g.bigSz()]
		if g.direct() {
			for gi := 0; gi < g.group; gi++ {
				gemm(gblas.Trans, gblas.NoTrans, cg, P, og, w[gi*og*kg:], kg, y[gi*og*P:], P, 0, x[gi*cg*P:], P, nw)
			}
		} else {
			byChannel(g.c, nw, func(c0, c1 int) { clear(x[c0*hw : c1*hw]) })
			for oy0 := 0; oy0 < g.oh; oy0 += R {
				oy1 := min(oy0+R, g.oh)
				pc := (oy1 - oy0) * g.ow
				for gi := 0; gi < g.group; gi++ {
					gemm(gblas.Trans, gblas.NoTrans, kg, pc, og, w[gi*og*kg:], kg,
						y[gi*og*P+oy0*g.ow:], P, 0, cols[gi*kg*pc:], pc, nw)
				}
				byChannel(g.c, nw, func(c0, c1 int) { col2im(g, cols, x, pc, 0, c0, c1, oy0, oy1) })
			}
		}
		if bias != nil {
			addChannelBias(x, bias, 0, g.c, hw)
		}
	})
}

// flipped returns, for a stride-1 geometry that is not direct, the geometry of
// the convolution that maps the small image onto the big one: with the kernel
// flipped, big[c, y, x] = Σ small[o, y−(effH−1−pt)+i·dh, …]·w[o, c, kh−1−i, …],
// i.e. pads effH−1−pt at the top and whatever makes the output the big size at
// the bottom. ok is false when those pads would be negative.
func (g *geom) flipped() (geom, bool) {
	if g.sh != 1 || g.sw != 1 || g.direct() {
		return geom{}, false
	}
	a := g.attrs
	a.pt, a.pl = g.effH()-1-g.pt, g.effW()-1-g.pl
	a.pb, a.pr = g.h-g.oh+g.effH()-1-a.pt, g.w-g.ow+g.effW()-1-a.pl
	if a.pt < 0 || a.pl < 0 || a.pb < 0 || a.pr < 0 {
		return geom{}, false
	}
	return geom{attrs: a, n: g.n, c: g.o, h: g.oh, w: g.ow, o: g.c, oh: g.h, ow: g.w}, true
}

// flipWeight writes the weight of g's flipped geometry: wf[gi·Cg+c, o, i, j]
// = w[gi·Og+o, c, kh−1−i, kw−1−j].
func flipWeight(g *geom, w, wf []float32) {
	og, cg, kk := g.og(), g.cg(), g.kk()
	for gi := 0; gi < g.group; gi++ {
		for o := 0; o < og; o++ {
			for c := 0; c < cg; c++ {
				src := w[((gi*og+o)*cg+c)*kk:][:kk]
				dst := wf[((gi*cg+c)*og+o)*kk:][:kk]
				for t := range src {
					dst[kk-1-t] = src[t]
				}
			}
		}
	}
}

// convBackwardWeight computes dw = Σ_images small · im2col(big)ᵀ: the weight
// gradient of Conv (big = x, small = dy) and of ConvTranspose (big = dy,
// small = x). dw is overwritten.
func convBackwardWeight(g *geom, big, small, dw []float32) {
	og, kg, P, R := g.og(), g.kg(), g.pix(), g.bandRows()
	if g.n == 0 {
		clear(dw)
		return
	}
	if ib := g.imagesPerGemm(splitBatch(g.n)); ib > 1 {
		convBackwardWeightBatched(g, big, small, dw, ib, splitBatch(g.n))
		return
	}
	// one accumulates image i into acc (overwriting it when first is set).
	one := func(i int, acc, cols []float32, first bool, nw int) {
		x := big[i*g.bigSz() : (i+1)*g.bigSz()]
		y := small[i*g.smlSz() : (i+1)*g.smlSz()]
		for oy0 := 0; oy0 < g.oh; oy0 += R {
			oy1 := min(oy0+R, g.oh)
			b, ldb := bandCols(g, x, cols, oy0, oy1, nw)
			beta := float32(1)
			if first && oy0 == 0 {
				beta = 0
			}
			for gi := 0; gi < g.group; gi++ {
				gemm(gblas.NoTrans, gblas.Trans, og, kg, (oy1-oy0)*g.ow, y[gi*og*P+oy0*g.ow:], P,
					b[gi*kg*ldb:], ldb, beta, acc[gi*og*kg:], kg, nw)
			}
		}
	}
	if !splitBatch(g.n) {
		perImage(g, false, func(i int, cols []float32, nw int) { one(i, dw, cols, i == 0, nw) })
		return
	}
	// Worker 0 accumulates into dw, the others into partial sums.
	parts := make([]*[]float32, workers(g.n))
	parallel(g.n, func(k, lo, hi int) {
		acc := dw
		if k > 0 {
			parts[k] = getScratch(len(dw))
			acc = *parts[k]
		}
		sp := getScratch(g.colsSz())
		defer putScratch(sp)
		for i := lo; i < hi; i++ {
			one(i, acc, *sp, i == lo, 1)
		}
	})
	addParts(dw, parts)
}

// addParts adds the workers' partial weight gradients into dw and returns
// their buffers to the pool.
func addParts(dw []float32, parts []*[]float32) {
	for _, p := range parts {
		if p == nil {
			continue
		}
		s := (*p)[:len(dw)]
		for j := range dw {
			dw[j] += s[j]
		}
		putScratch(p)
	}
}

// channelSums computes db[c] = Σ_{n,h,w} dy[n,c,h,w] (the bias gradient).
func channelSums(dy []float32, n, c, plane int, db []float32) {
	acc := make([]float64, c)
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			row := dy[(i*c+ch)*plane : (i*c+ch+1)*plane]
			var s float64
			for _, v := range row {
				s += float64(v)
			}
			acc[ch] += s
		}
	}
	for ch, s := range acc {
		db[ch] = float32(s)
	}
}
