// Package report draws a training run's figures and assembles them, with
// tables and text, into one self-contained HTML page.
//
// Figures:
//
//   - LineChart: training curves (loss, validation accuracy against epoch or
//     step), with a legend, distinct colours and gaps at NaN.
//   - Histogram: overlaid semi-transparent histograms with shared bins, e.g.
//     original against masked pixel intensities, as counts or densities.
//   - BarChart: grouped bars with error bars (mean ± std per method).
//   - ImageGrid: rows of image panels under column headers, e.g. the APGA
//     grid (image | policy probability | aid mask | masked image) or the
//     noise-mask grid (image | noise matrix | masked image). Small images are
//     enlarged by a whole factor so that every panel is at least ~96 px.
//
// The charts (LineChart, Histogram, BarChart) are drawn with gonum/plot
// (gonum.org/v1/plot): its Liberation Sans text, tick marks and axes, with
// the legend right of the plot. Each is written twice: as a PNG at the path
// given (through gonum/plot's vgimg) and as an SVG beside it, the same name
// ending in .svg (through vgsvg). Image grids are PNG only; they are drawn
// pixel by pixel, their text in basicfont's 7×13 ASCII face (common
// symbols such as ± and × are transliterated).
//
// Each figure type also has a Render method returning the image, for
// callers that want to compose or encode it themselves.
//
// The page (WritePage) uses html/template, so all text is escaped; it has
// inline CSS only and no scripts or external resources. A figure whose PNG
// has an SVG beside it is inlined as that SVG, so that it scales, with a
// link to the PNG; the SVG is checked first (well-formed, nothing active or
// external in it) and its ids are prefixed per figure. With Page.Embed the
// other figures are embedded as data: URIs so the page is a single file.
// WriteJSON writes indented JSON; ReadJSONLines and SeriesFromLog read a
// metrics log (one JSON object per line) back into chart series.
//
// Every file is written atomically: to a temporary file in the same
// directory, renamed over the destination only once complete. Errors name
// the file and what was wrong with the input, and bad input (no series,
// mismatched lengths, NaN limits, sizes too small or too large) is found
// before any file is written; bad input never panics.
package report
