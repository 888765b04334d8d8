/*
 * plot.c — nabla-train's learning curves as a self-contained SVG: the
 * training loss in a top panel, train and test accuracy in a bottom panel
 * zoomed to the range they occupy, both over the epochs, with ticks and
 * grid lines on every axis, a legend inside each panel, and a title naming
 * the model and the data.
 */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

enum { WIDTH = 720, HEIGHT = 520, LEFT = 70, RIGHT = 30, PLOT_WIDTH = WIDTH - LEFT - RIGHT };

typedef struct {
    double top, height; /* pixels */
    double low, high;   /* the values at the bottom and at the top */
} panel;

static const char *const LOSS_COLOR = "#d62728", *const TRAIN_COLOR = "#1f77b4", *const TEST_COLOR = "#2ca02c";

/* A tick step of 1, 2 or 5 times a power of ten that cuts range into about
 * count pieces. */
static double nice_step(double range, int count)
{
    double raw = range / count, power = pow(10, floor(log10(raw))), step = power;
    if (raw / power > 5)
        step = 10 * power;
    else if (raw / power > 2)
        step = 5 * power;
    else if (raw / power > 1)
        step = 2 * power;
    return step;
}

static double x_of(int epoch, int epochs) /* epoch in [1, epochs] */
{
    return LEFT + (epochs > 1 ? (double)PLOT_WIDTH * (epoch - 1) / (epochs - 1) : PLOT_WIDTH / 2.0);
}

static double y_of(const panel *p, double value)
{
    double v = (value - p->low) / (p->high > p->low ? p->high - p->low : 1);
    return p->top + p->height * (1 - (v < 0 ? 0 : v > 1 ? 1 : v));
}

/* The panel's frame, its horizontal grid lines with labels (as percent when
 * percent), and the epoch ticks along its bottom. */
static void draw_axes(FILE *f, const panel *p, int epochs, bool percent, const char *label)
{
    fprintf(f, "<rect x=\"%d\" y=\"%.0f\" width=\"%d\" height=\"%.0f\" fill=\"none\" stroke=\"#888\"/>\n", LEFT, p->top,
            PLOT_WIDTH, p->height);
    double step = nice_step(p->high - p->low, 5);
    for (double v = ceil(p->low / step) * step; v <= p->high + step * 1e-9; v += step) {
        double y = y_of(p, v);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", LEFT, y, LEFT + PLOT_WIDTH,
                y);
        if (percent)
            fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.*f%%</text>\n", LEFT - 6, y + 4,
                    step * 100 < 1 ? 1 : 0, 100 * v);
        else
            fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", LEFT - 6, y + 4, v);
    }
    int every = epochs <= 12 ? 1 : (int)nice_step(epochs, 10);
    for (int e = 1; e <= epochs; e++) {
        if (e != 1 && e % every != 0) continue;
        double x = x_of(e, epochs), bottom = p->top + p->height;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#888\"/>\n", x, bottom, x, bottom + 5);
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%d</text>\n", x, bottom + 18, e);
    }
    fprintf(f, "<text transform=\"translate(16,%.0f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
            p->top + p->height / 2, label);
}

/* values[0..epochs) as a line with a dot per epoch; dashed when dashed. */
static void draw_curve(FILE *f, const panel *p, const double *values, int epochs, const char *color, bool dashed)
{
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color,
            dashed ? " stroke-dasharray=\"6,4\"" : "");
    for (int i = 0; i < epochs; i++)
        fprintf(f, "%.1f,%.1f ", x_of(i + 1, epochs), y_of(p, values[i]));
    fprintf(f, "\"/>\n");
    for (int i = 0; i < epochs; i++)
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", x_of(i + 1, epochs), y_of(p, values[i]),
                color);
}

/* A legend entry at row of the panel's top-right corner, or counted up
 * from its bottom-right one: where falling (loss) or rising (accuracy)
 * curves leave room. */
static void legend(FILE *f, const panel *p, int row, bool at_bottom, const char *color, bool dashed, const char *text)
{
    double x = LEFT + PLOT_WIDTH - 190, y = at_bottom ? p->top + p->height - 10 - 18 * row : p->top + 18 + 18 * row;
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n", x, y - 4,
            x + 24, y - 4, color, dashed ? " stroke-dasharray=\"6,4\"" : "");
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", x + 30, y, text);
}

static double extreme(const double *values, int n, bool largest)
{
    double e = values[0];
    for (int i = 1; i < n; i++)
        e = largest ? (values[i] > e ? values[i] : e) : (values[i] < e ? values[i] : e);
    return e;
}

/* Characters that would end an SVG text node, replaced. */
static void escaped(FILE *f, const char *text)
{
    for (; *text; text++)
        switch (*text) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        default: fputc(*text, f);
        }
}

bool write_curves_svg(const char *path, const curves *c, char *error, size_t error_size)
{
    if (c->epochs < 1) {
        snprintf(error, error_size, "%s: no epoch to plot", path);
        return false;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        return false;
    }
    errno = 0; /* from here on, set only by a failed write */
    int    n = c->epochs;
    double max_loss = extreme(c->train_loss, n, true);
    double min_acc  = fmin(extreme(c->train_acc, n, false), extreme(c->test_acc, n, false));
    panel  loss     = { .top = 60, .height = 170, .low = 0, .high = max_loss > 0 ? max_loss * 1.05 : 1 };
    /* Accuracy from a round percent under the lowest point to 100%. */
    double floor_acc = floor(fmin(min_acc, 0.99) * 20) / 20;
    panel  acc       = { .top = 280, .height = 170, .low = floor_acc < 0 ? 0 : floor_acc, .high = 1 };

    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
               "font-size=\"12\">\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            WIDTH, HEIGHT, WIDTH, HEIGHT);
    fprintf(f, "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">nabla-train: ", WIDTH / 2);
    escaped(f, c->model);
    fprintf(f, " on ");
    escaped(f, c->data);
    fprintf(f, ", %d epoch%s</text>\n", c->epochs, c->epochs == 1 ? "" : "s");
    if (c->label_smoothing > 0)
        fprintf(f, "<text x=\"%d\" y=\"44\" text-anchor=\"middle\" fill=\"#555\">the loss includes label smoothing "
                   "%g: it levels off above 0 by design</text>\n",
                WIDTH / 2, c->label_smoothing);

    draw_axes(f, &loss, n, false, "training loss");
    draw_curve(f, &loss, c->train_loss, n, LOSS_COLOR, false);
    legend(f, &loss, 0, false, LOSS_COLOR, false, "train loss (epoch mean)");

    draw_axes(f, &acc, n, true, "accuracy");
    draw_curve(f, &acc, c->train_acc, n, TRAIN_COLOR, false);
    draw_curve(f, &acc, c->test_acc, n, TEST_COLOR, true);
    legend(f, &acc, 1, true, TRAIN_COLOR, false, "train accuracy");
    legend(f, &acc, 0, true, TEST_COLOR, true, "test accuracy");
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">epoch</text>\n</svg>\n", LEFT + PLOT_WIDTH / 2,
            HEIGHT - 18);

    /* fflush first so that a full disk shows as a failed write with its errno
     * (fclose would report it too, but after closing the file). */
    if (fflush(f) != 0 || ferror(f)) {
        snprintf(error, error_size, "%s: %s", path, errno ? strerror(errno) : "write error");
        fclose(f);
        return false;
    }
    if (fclose(f) != 0) {
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        return false;
    }
    return true;
}
