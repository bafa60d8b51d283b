// Package report draws a training run's figures as PNG files and assembles
// them, with tables and text, into one self-contained HTML page.
//
// Figures:
//
//   - LineChart: training curves (loss, validation accuracy against epoch or
//     step), with nice tick steps, a legend, distinct colours and gaps at NaN.
//   - ImageGrid: rows of image panels under column headers, e.g. the APGA
//     grid (image | policy probability | aid mask | masked image) or the
//     noise-mask grid (image | noise matrix | masked image). Small images are
//     enlarged by a whole factor so that every panel is at least ~96 px.
//   - Histogram: overlaid semi-transparent histograms with shared bins, e.g.
//     original against masked pixel intensities.
//   - BarChart: grouped bars with error bars (mean ± std per method).
//
// Each figure type also has a Render method returning the image, for
// callers that want to compose or encode it themselves.
//
// The page (WritePage) uses html/template, so all text is escaped; it has
// inline CSS only and no scripts or external resources, and with Page.Embed
// the figures are embedded as data: URIs so the page is a single file.
// WriteJSON writes indented JSON; ReadJSONLines and SeriesFromLog read a
// metrics log (one JSON object per line) back into chart series.
//
// Every file is written atomically: to a temporary file in the same
// directory, renamed over the destination only once complete. Errors name
// the file and what was wrong with the input; bad input (empty series, NaN,
// zero sizes) never panics. Text in figures uses basicfont's 7×13 ASCII
// face; common symbols such as ± and × are transliterated.
package report
