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

/// One bar: the subject's index and name, its rate at the median, and the
/// rates of its slowest and fastest repetitions.
struct Bar<'a> {
    index: usize,
    name: &'a str,
    ops: f64,
    slowest: f64,
    fastest: f64,
}

fn bars(report: &Report, w: Workload, root: &Area) -> Result<(), String> {
    let n = report.sizes_of(w).last().copied().unwrap_or(0);
    let rows: Vec<Bar<'_>> = report
        .subjects
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let m = report.find(&s.name, w, n)?;
            let rate = |secs: f64| m.ops as f64 / secs;
            let most = m.seconds.iter().copied().fold(0.0, f64::max);
            let least = m.seconds.iter().copied().fold(f64::INFINITY, f64::min);
            Some(Bar {
                index: i,
                name: s.name.as_str(),
                ops: m.ops_per_sec(),
                slowest: rate(most),
                fastest: rate(least),
            })
        })
        .collect();
    let (lo, hi) = log_bounds(rows.iter().flat_map(|r| [r.ops, r.slowest, r.fastest]));
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
        .margin_right(72)
        .x_label_area_size(36)
        .y_label_area_size(150)
        // A segmented range a..b has a segment for b too: one per row here
        // (plotters draws no labels on a range of a single value, so one
        // row gets an empty second segment).
        .build_cartesian_2d(
            (lo..hi).log_scale(),
            (0..rows.len().saturating_sub(1).max(1)).into_segmented(),
        )
        .map_err(|e| e.to_string())?;
    let names: Vec<&str> = rows.iter().map(|r| r.name).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(
            "operations per second (log scale, higher is better; whiskers: slowest to fastest run)",
        )
        .x_label_formatter(&|v| si(*v))
        .y_label_formatter(&|seg| match seg {
            SegmentValue::CenterOf(i) => names.get(*i).copied().unwrap_or("").to_string(),
            _ => String::new(),
        })
        .y_labels(rows.len().max(1))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(rows.iter().enumerate().map(|(row, bar)| {
            let mut rect = Rectangle::new(
                [
                    (lo, SegmentValue::Exact(row)),
                    (bar.ops, SegmentValue::Exact(row + 1)),
                ],
                colour(bar.index).mix(0.8).filled(),
            );
            rect.set_margin(6, 6, 0, 0);
            rect
        }))
        .map_err(|e| e.to_string())?;
    // The spread: a whisker from the slowest repetition's rate to the
    // fastest's, with caps; none for a single run.
    let whisker = BLACK.stroke_width(1);
    let spread: Vec<(usize, &Bar<'_>)> = rows
        .iter()
        .enumerate()
        .filter(|(_, bar)| bar.fastest > bar.slowest)
        .collect();
    let at = |x: f64, row: usize| (x, SegmentValue::CenterOf(row));
    chart
        .draw_series(spread.iter().map(|&(row, bar)| {
            PathElement::new(vec![at(bar.slowest, row), at(bar.fastest, row)], whisker)
        }))
        .map_err(|e| e.to_string())?;
    for end in [|b: &Bar<'_>| b.slowest, |b: &Bar<'_>| b.fastest] {
        chart
            .draw_series(spread.iter().map(|&(row, bar)| {
                EmptyElement::at(at(end(bar), row))
                    + PathElement::new(vec![(0, -5), (0, 5)], whisker)
            }))
            .map_err(|e| e.to_string())?;
    }
    // The figure itself, past the end of the bar and its whisker.
    chart
        .draw_series(rows.iter().enumerate().map(|(row, bar)| {
            EmptyElement::at((bar.ops.max(bar.fastest), SegmentValue::CenterOf(row)))
                + Text::new(si(bar.ops), (8, -7), ("sans-serif", 13))
        }))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Width of the legend column beside a growth chart: outside the plot, so
/// that it never covers a line.
const LEGEND_WIDTH: u32 = 190;

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
    let root = root
        .titled(
            &format!(
                "{}: time per {} against N ({})",
                w.name(),
                w.unit(),
                report.machine.date
            ),
            ("sans-serif", 18),
        )
        .map_err(|e| e.to_string())?;
    let (width, _) = root.dim_in_pixel();
    let (plot, legend) = root.split_horizontally(width.saturating_sub(LEGEND_WIDTH));
    let mut chart = ChartBuilder::on(&plot)
        .margin(12)
        .margin_right(24)
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
    let mut shown = Vec::new();
    for (i, s) in report.subjects.iter().enumerate() {
        let points: Vec<(f64, f64)> = sizes
            .iter()
            .filter_map(|&n| report.find(&s.name, w, n))
            .map(|m| (m.n as f64, micros(m.secs_per_op())))
            .collect();
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points.clone(), colour(i).stroke_width(2)))
            .map_err(|e| e.to_string())?;
        // One marker shape per subject, so that lines that coincide (or a
        // reader who cannot tell the colours apart) still tell the subjects
        // apart: five shapes against eight colours repeat only after forty.
        let c = colour(i);
        let pts = points.iter().copied();
        match i % 5 {
            0 => chart.draw_series(pts.map(|p| Circle::new(p, 3, c.filled()))),
            1 => chart.draw_series(pts.map(|p| TriangleMarker::new(p, 5, c.filled()))),
            2 => chart.draw_series(
                pts.map(|p| EmptyElement::at(p) + Rectangle::new([(-3, -3), (3, 3)], c.filled())),
            ),
            3 => chart.draw_series(pts.map(|p| Cross::new(p, 4, c.stroke_width(2)))),
            _ => chart.draw_series(pts.map(|p| Circle::new(p, 4, c.stroke_width(2)))),
        }
        .map_err(|e| e.to_string())?;
        shown.push((i, s.name.as_str()));
    }
    // The legend, one row per subject drawn: a stretch of its line with its
    // marker, and its name.
    for (row, &(i, name)) in shown.iter().enumerate() {
        let y = 40 + 20 * row as i32;
        legend
            .draw(&PathElement::new(
                vec![(4, y), (28, y)],
                colour(i).stroke_width(2),
            ))
            .map_err(|e| e.to_string())?;
        let (c, at) = (colour(i), (16, y));
        match i % 5 {
            0 => legend.draw(&Circle::new(at, 3, c.filled())),
            1 => legend.draw(&TriangleMarker::new(at, 5, c.filled())),
            2 => legend.draw(&Rectangle::new([(13, y - 3), (19, y + 3)], c.filled())),
            3 => legend.draw(&Cross::new(at, 4, c.stroke_width(2))),
            _ => legend.draw(&Circle::new(at, 4, c.stroke_width(2))),
        }
        .map_err(|e| e.to_string())?;
        legend
            .draw(&Text::new(
                name.to_string(),
                (34, y - 7),
                ("sans-serif", 13),
            ))
            .map_err(|e| e.to_string())?;
    }
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
