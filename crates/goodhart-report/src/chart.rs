//! Line charts with interval bands, drawn by `plotters` straight to an SVG string.
//!
//! Why plotters: the report must open from disk on an air-gapped cluster, so nothing may load from a
//! network or need JavaScript; plotters' SVG backend writes plain vector elements (one `<polyline>` per
//! series, one `<polygon>` per interval band, one `<circle>` per marker) with no embedded fonts or
//! scripts, so a chart costs a few kilobytes and stays readable in any browser or in a text editor.
//! A vendored JavaScript library would add ~100 KB–1 MB per file and a script the reader must run.

use crate::error::ReportError;
use crate::stats::Estimate;
use plotters::prelude::*;

/// Above this many points in one chart, markers are left out (the lines and bands carry the data) so
/// a long run's report stays small.
pub const MARKER_LIMIT: usize = 400;

/// Distinct, colour-blind-friendly series colours (Okabe and Ito's palette).
pub const PALETTE: [(u8, u8, u8); 8] = [
    (0, 114, 178),
    (213, 94, 0),
    (0, 158, 115),
    (204, 121, 167),
    (230, 159, 0),
    (86, 180, 233),
    (0, 0, 0),
    (240, 228, 66),
];

/// One series: a name for the legend and `(x, estimate)` points in x order.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, Estimate)>,
}

/// The CSS colour of series `i`, for legends written beside the chart.
pub fn css_color(i: usize) -> String {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Where a click on a point goes: given the series index and the point's x, a URL (already escaped for an
/// attribute), or `None` for a point that links nowhere.
pub type PointLink<'a> = &'a dyn Fn(usize, f64) -> Option<String>;

/// Draws `series` as lines (rates in percent on y) with a translucent band for each point's interval.
/// With `link`, every point also gets a transparent hit circle (`<a class="pt"><circle class="hit">`)
/// over its marker, so a click on a spike opens what lies behind it. Returns the SVG document.
pub fn rate_chart(
    title: &str,
    x_label: &str,
    series: &[Series],
    link: Option<PointLink<'_>>,
) -> Result<String, ReportError> {
    let fail = |e: &dyn std::fmt::Display| ReportError::Chart {
        chart: title.to_string(),
        message: e.to_string(),
    };
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (mut lo, mut hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1.0 {
        (lo, hi) = (lo - 0.5, hi + 0.5);
    }
    let total: usize = series.iter().map(|s| s.points.len()).sum();
    let mut svg = String::new();
    let mut hits = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(lo..hi, 0.0..100.0)
            .map_err(|e| fail(&e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc("% of rollouts")
            .light_line_style(WHITE)
            .draw()
            .map_err(|e| fail(&e))?;
        for (i, s) in series.iter().enumerate() {
            let (r, g, b) = PALETTE[i % PALETTE.len()];
            let color = RGBColor(r, g, b);
            if s.points.len() > 1 {
                let mut band: Vec<(f64, f64)> =
                    s.points.iter().map(|(x, e)| (*x, 100.0 * e.high)).collect();
                band.extend(s.points.iter().rev().map(|(x, e)| (*x, 100.0 * e.low)));
                chart
                    .draw_series(std::iter::once(Polygon::new(band, color.mix(0.15))))
                    .map_err(|e| fail(&e))?;
            }
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().map(|(x, e)| (*x, 100.0 * e.point)),
                    color.stroke_width(2),
                ))
                .map_err(|e| fail(&e))?;
            if let Some(link) = link {
                for (x, e) in &s.points {
                    if let Some(href) = link(i, *x) {
                        let (cx, cy) = chart.backend_coord(&(*x, 100.0 * e.point));
                        hits.push(format!(
                            "<a class=\"pt\" href=\"{href}\"><circle class=\"hit\" cx=\"{cx}\" cy=\"{cy}\" r=\"7\" fill=\"transparent\"/></a>"
                        ));
                    }
                }
            }
            if total <= MARKER_LIMIT {
                chart
                    .draw_series(
                        s.points
                            .iter()
                            .map(|(x, e)| Circle::new((*x, 100.0 * e.point), 3, color.filled())),
                    )
                    .map_err(|e| fail(&e))?;
            }
        }
        root.present().map_err(|e| fail(&e))?;
    }
    // Inline SVG in HTML needs no namespace declaration; dropping it leaves the page with no URL at all.
    let mut svg = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    if !hits.is_empty() {
        // The hit circles go last, so they sit above the lines and bands and take the clicks.
        if let Some(end) = svg.rfind("</svg>") {
            svg.insert_str(end, &hits.concat());
        }
    }
    Ok(svg)
}
