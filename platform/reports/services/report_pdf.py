"""The AI study report as a PDF (reportlab platypus): the same facts as the HTML page."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from reports.services.study_report import StudyReport


def _fmt(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{float(value):.{digits}f}"


def _doctors(image: Any) -> str:
    if not image.doctors:
        return "none yet"
    return "; ".join(f"{d.doctor}: {', '.join(d.labels) or '-'}" for d in image.doctors)


def _model_facts(model: dict[str, Any] | None) -> list[list[str]]:
    if model is None:
        return [["Model", "no active model: no predictions"]]
    version = f"v{model['number']} ({model['architecture']}), {model['labels_used']} labels"
    detection = model.get("detection")
    if detection:
        return [
            ["Model version", version],
            [
                "Test FROC mean / sensitivity at 1 FP per image",
                f"{_fmt(detection['froc_mean'])} / {_fmt(detection['sensitivity_at_1'])}, "
                f"n = {detection['n_test_images']} images",
            ],
            [
                "Test mAP@0.5 / mAP@0.5:0.95",
                f"{_fmt(detection['map_50'])} / {_fmt(detection['map_50_95'])}",
            ],
        ]
    low, high = model["auc_ci"]
    return [
        ["Model version", version],
        [
            "Test AUC",
            f"{_fmt(model['auc'])} (95% CI {_fmt(low)}-{_fmt(high)}), n = {model['n_test']}",
        ],
        ["Test accuracy / macro F1", f"{_fmt(model['accuracy'])} / {_fmt(model['macro_f1'])}"],
        ["Calibration error (ECE)", _fmt(model["ece_after"])],
    ]


def _findings(report: StudyReport, image: Any) -> list[str]:
    """Detection: one line listing each proposed finding with its label and score."""
    if report.project.task_type != "detection":
        return []
    listed = ", ".join(f"{f.label} {f.score:.2f}" for f in image.findings)
    return [f"Proposed findings: {escape(listed or 'none above the threshold')}"]


def calibration_section(report: StudyReport, styles: Any) -> list[Any]:
    """The model's calibration on the locked test split: temperature, ECE and Brier score before
    and after it, and the reliability bins (stated confidence against observed accuracy)."""
    if report.model is None or report.model.get("detection"):
        return []  # a detector's scores are not class probabilities calibrated by a temperature
    c = report.model["calibration"]
    body = styles["BodyText"]
    rows = [
        ["Temperature", _fmt(c["temperature"])],
        ["ECE before / after", f"{_fmt(c['ece_before'])} / {_fmt(c['ece_after'])}"],
        ["Brier score before / after", f"{_fmt(c['brier_before'])} / {_fmt(c['brier_after'])}"],
    ]
    facts = Table(rows, colWidths=[5 * cm, 12.5 * cm])
    facts.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey)]))
    out: list[Any] = [
        Paragraph("Calibration", styles["Heading2"]),
        Paragraph(
            f"On the locked test split (n = {report.model['n_test']}); a temperature fitted on "
            "the validation split divides the logits.",
            body,
        ),
        facts,
    ]
    if c["bins"]:
        header = ["Stated confidence", "Images", "Mean confidence", "Observed accuracy"]
        bins = Table(
            [header]
            + [
                [
                    f"{b['lower']:.2f}-{b['upper']:.2f}",
                    str(b["count"]),
                    _fmt(b["confidence"]),
                    _fmt(b["accuracy"]),
                ]
                for b in c["bins"]
            ],
            colWidths=[4.4 * cm, 3 * cm, 5 * cm, 5.1 * cm],
        )
        bins.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey)]))
        out += [Spacer(1, 6), bins]
    return [*out, Spacer(1, 12)]


def render_pdf(report: StudyReport) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"AI study report - {report.study.study_instance_uid}",
        author="Radloop",
        leftMargin=1.6 * cm,
        rightMargin=1.6 * cm,
        topMargin=1.4 * cm,
        bottomMargin=1.4 * cm,
    )
    styles = getSampleStyleSheet()
    banner = ParagraphStyle(
        "banner",
        parent=styles["Heading2"],
        textColor=colors.white,
        backColor=colors.HexColor("#b42318"),
        borderPadding=6,
        alignment=1,
    )
    body = styles["BodyText"]
    story: list[Any] = [
        Paragraph(f"{escape(report.disclaimer.upper())}", banner),
        Spacer(1, 8),
        Paragraph(escape(report.disclaimer_detail), body),
        Paragraph("AI study report", styles["Title"]),
    ]
    study = report.study
    facts = [
        ["Project", report.project.name],
        ["Study Instance UID", study.study_instance_uid],
        ["Patient ID", study.patient.patient_id],
        ["Study date", study.study_date or "-"],
        ["Generated", report.generated_at.strftime("%Y-%m-%d %H:%M UTC")],
    ]
    facts += _model_facts(report.model)
    table = Table(
        [
            [Paragraph(f"<b>{escape(k)}</b>", body), Paragraph(escape(str(v)), body)]
            for k, v in facts
        ],
        colWidths=[5 * cm, 12.5 * cm],
    )
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey)]))
    story += [table, Spacer(1, 12)]
    if report.model is not None and report.model.get("class_report"):
        story += class_table_flowables(report.model["class_report"], styles)
    story += calibration_section(report, styles)
    story.append(Paragraph("Images", styles["Heading2"]))
    for index, image in enumerate(report.images, start=1):
        picture = Image(
            io.BytesIO(image.picture_png), width=5 * cm, height=5 * cm, kind="proportional"
        )
        lines = [
            f"<b>Image {index}</b> (instance {image.instance_number or '-'}, frame {image.frame})",
            f"Predicted: <b>{escape(image.predicted or 'n/a')}</b>, "
            f"calibrated probability {_fmt(image.probability, 2)}",
            "All classes: "
            + escape(
                ", ".join(f"{k} {_fmt(v, 2)}" for k, v in image.probabilities.items()) or "n/a"
            ),
            f"Heat map: {escape(image.heatmap_status)}",
            *_findings(report, image),
            f"Doctors' labels: {escape(_doctors(image))}",
            f"<font size=7>SOP {escape(image.sop_instance_uid)}</font>",
        ]
        row = Table(
            [[picture, [Paragraph(line, body) for line in lines]]],
            colWidths=[5.6 * cm, 11.9 * cm],
        )
        row.setStyle(
            TableStyle(
                [("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOX", (0, 0), (-1, -1), 0.3, colors.grey)]
            )
        )
        story += [row, Spacer(1, 6)]
    story.append(Paragraph(f"<i>{escape(report.disclaimer)}.</i>", body))
    doc.build(story)
    return out.getvalue()


def class_table_flowables(table: dict[str, Any], styles: Any) -> list[Any]:
    """The per-class table and the confusion matrix (reports.services.class_report)."""
    multi = table["multi_label"]
    header = ["label" if multi else "class", "precision", "recall", "F1", "support"]
    header += ["AUC"] if multi else []

    def cells(row: dict[str, Any], name: str) -> list[str]:
        out = [name, _fmt(row["precision"]), _fmt(row["recall"]), _fmt(row["f1"])]
        out.append(str(row["support"]))
        return out + ([_fmt(row["auc"])] if multi else [])

    data = [header]
    data += [cells(row, row["name"]) for row in table["rows"]]
    data += [cells(row, f"{row['name']} average") for row in table["averages"]]
    grid = Table(data, hAlign="LEFT")
    grid.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, len(table["rows"]) + 1), (0, -1), "Helvetica-Bold"),
            ]
        )
    )
    out: list[Any] = [Paragraph("Per-class figures on the test split", styles["Heading2"]), grid]
    if table.get("matrix_rows"):
        matrix = [["true \\ predicted", *table["class_names"]]]
        matrix += [[row["name"], *map(str, row["counts"])] for row in table["matrix_rows"]]
        confusion = Table(matrix, hAlign="LEFT")
        confusion.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey)]))
        out += [Spacer(1, 6), Paragraph("Confusion matrix", styles["Heading3"]), confusion]
    return [*out, Spacer(1, 12)]
