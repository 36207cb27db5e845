//! SVG charts of a report, drawn with plotters.
//!
//! Two kinds per workload: bars of operations per second at the largest
//! size (log scale, since the subjects differ by orders of magnitude), and
//! time per operation against N on log-log axes, where a flat line is a
//! cost that does not grow with the data and a line at 45 degrees one that
//! grows in proportion.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::{Report, count, si};
use crate::workload::Workload;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn failed(path: &Path, e: impl std::fmt::Display) -> ch00_contract::Error {
    ch00_contract::Error::io("drawing chart", path, std::io::Error::other(e.to_string()))
}

/// One colour per subject, stable across charts.
fn colour(index: usize) -> RGBColor {
    const COLOURS: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    COLOURS[index % COLOURS.len()]
}

/// Log-axis bounds that contain every value with some room.
fn log_bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (1.0, 10.0);
    }
    (
        10f64.powf(lo.log10().floor()),
        10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0)),
    )
}

fn bars(report: &Report, w: Workload, root: &Area) -> Result<(), String> {
    let n = report.sizes_of(w).last().copied().unwrap_or(0);
    let rows: Vec<(usize, &str, f64)> = report
        .subjects
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let m = report.find(&s.name, w, n)?;
            Some((i, s.name.as_str(), m.ops_per_sec()))
        })
        .collect();
    let (lo, hi) = log_bounds(rows.iter().map(|r| r.2));
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "{} at N = {}: ops/s, one op = one {} ({})",
                w.name(),
                count(n),
                w.unit(),
                report.machine.date
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .margin_right(36)
        .x_label_area_size(36)
        .y_label_area_size(110)
        // A segmented range a..b has a segment for b too: one per row here
        // (plotters draws no labels on a range of a single value, so one
        // row gets an empty second segment).
        .build_cartesian_2d(
            (lo..hi).log_scale(),
            (0..rows.len().saturating_sub(1).max(1)).into_segmented(),
        )
        .map_err(|e| e.to_string())?;
    let names: Vec<&str> = rows.iter().map(|r| r.1).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("operations per second (log scale, higher is better)")
        .x_label_formatter(&|v| si(*v))
        .y_label_formatter(&|seg| match seg {
            SegmentValue::CenterOf(i) => names.get(*i).copied().unwrap_or("").to_string(),
            _ => String::new(),
        })
        .y_labels(rows.len().max(1))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(rows.iter().enumerate().map(|(row, &(i, _, ops))| {
            let mut bar = Rectangle::new(
                [
                    (lo, SegmentValue::Exact(row)),
                    (ops, SegmentValue::Exact(row + 1)),
                ],
                colour(i).filled(),
            );
            bar.set_margin(4, 4, 0, 0);
            bar
        }))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn growth(report: &Report, w: Workload, root: &Area) -> Result<(), String> {
    let sizes = report.sizes_of(w);
    let (n_lo, n_hi) = log_bounds(sizes.iter().map(|&n| n as f64));
    let micros = |secs: f64| secs * 1e6;
    let (lo, hi) = log_bounds(
        report
            .measurements
            .iter()
            .filter(|m| m.workload == w)
            .map(|m| micros(m.secs_per_op())),
    );
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "{}: time per {} against N ({})",
                w.name(),
                w.unit(),
                report.machine.date
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .margin_right(36)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d((n_lo..n_hi).log_scale(), (lo..hi).log_scale())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("N, keys in the store (log scale)")
        .y_desc("microseconds (log scale, lower is better)")
        .x_label_formatter(&|v| count(*v as u64))
        .y_label_formatter(&|v| si(*v))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, s) in report.subjects.iter().enumerate() {
        let points: Vec<(f64, f64)> = sizes
            .iter()
            .filter_map(|&n| report.find(&s.name, w, n))
            .map(|m| (m.n as f64, micros(m.secs_per_op())))
            .collect();
        if points.is_empty() {
            continue;
        }
        let style = colour(i).stroke_width(2);
        chart
            .draw_series(LineSeries::new(points.clone(), style))
            .map_err(|e| e.to_string())?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, 3, colour(i).filled())),
            )
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Writes `bars-<workload>.svg` and `growth-<workload>.svg` for every
/// measured workload into `dir`.
pub fn write_all(report: &Report, dir: &Path) -> ch00_contract::Result<()> {
    for w in report.workloads() {
        let path = dir.join(format!("bars-{}.svg", w.name()));
        let height = 80 + 44 * report.subjects.len() as u32;
        let root = SVGBackend::new(&path, (760, height)).into_drawing_area();
        bars(report, w, &root).map_err(|e| failed(&path, e))?;
        drop(root);

        let path = dir.join(format!("growth-{}.svg", w.name()));
        let root = SVGBackend::new(&path, (760, 420)).into_drawing_area();
        growth(report, w, &root).map_err(|e| failed(&path, e))?;
    }
    Ok(())
}
