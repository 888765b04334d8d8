/*
 * report.c — what nabla-train shows and writes: the per-epoch progress bar
 * (live on a terminal, one plain line per epoch otherwise), the confusion
 * matrix, and the learning curves as a self-contained SVG.
 */
#define _DEFAULT_SOURCE /* clock_gettime, fileno, TIOCGWINSZ */
#include "train.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The terminal's width in columns: the window's (TIOCGWINSZ), else
 * $COLUMNS, else 80. */
static int terminal_columns(void)
{
#if defined(TIOCGWINSZ)
    struct winsize size;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
#endif
    const char *text    = getenv("COLUMNS");
    long        columns = text ? strtol(text, NULL, 10) : 0;
    return columns > 0 && columns < 1000 ? (int)columns : 80;
}

void progress_begin(progress *p, int epoch, int epochs, int64_t batches, int64_t samples)
{
    p->live              = isatty(fileno(stdout));
    p->columns           = p->live ? terminal_columns() : 80;
    p->epoch             = epoch;
    p->epochs            = epochs;
    p->batches           = batches;
    p->samples_per_epoch = samples;
    p->started           = now_seconds();
}

/* The live line fits the terminal: the bar takes what the numbers leave,
 * and on a narrow terminal the rate, then the batch count, are left out
 * before the bar shrinks below MIN_BAR. One column stays free, so that the
 * cursor never wraps. */
enum { MIN_BAR = 8, MAX_BAR = 30, LINE_MAX = 512 };

void progress_update(progress *p, int64_t batch, int64_t samples_done, double loss, double accuracy)
{
    if (!p->live) return;
    /* Redraw about 30 times per epoch: the terminal is slower than a step. */
    int64_t every = p->batches / 30 > 0 ? p->batches / 30 : 1;
    if (batch % every != 0 && batch != p->batches) return;
    double elapsed = now_seconds() - p->started;
    double rate    = elapsed > 0 ? (double)samples_done / elapsed : 0;
    double eta     = rate > 0 ? (double)(p->samples_per_epoch - samples_done) / rate : 0;
    char   head[64], count[64], numbers[96], speed[48];
    snprintf(head, sizeof head, "epoch %d/%d ", p->epoch, p->epochs);
    snprintf(count, sizeof count, " %lld/%lld", (long long)batch, (long long)p->batches);
    snprintf(numbers, sizeof numbers, "  loss %.4f  acc %5.1f%%  ETA %4.1fs", loss, 100 * accuracy, eta);
    snprintf(speed, sizeof speed, "  %.0f samples/s", rate);
    int room = p->columns - 1 - (int)(strlen(head) + strlen(numbers)) - 2; /* 2: the brackets */
    bool show_speed = room - (int)(strlen(count) + strlen(speed)) >= MIN_BAR;
    bool show_count = room - (int)strlen(count) - (show_speed ? (int)strlen(speed) : 0) >= MIN_BAR;
    int  width      = room - (show_count ? (int)strlen(count) : 0) - (show_speed ? (int)strlen(speed) : 0);
    if (width > MAX_BAR) width = MAX_BAR;
    if (width < 0) width = 0;
    int filled = p->batches > 0 ? (int)(width * batch / p->batches) : width;
    char bar[MAX_BAR + 1];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    char line[LINE_MAX];
    snprintf(line, sizeof line, "%s[%s]%s%s%s", head, bar, show_count ? count : "", numbers, show_speed ? speed : "");
    /* A terminal narrower than even this: cut the line rather than wrap. */
    if (p->columns > 1 && strlen(line) > (size_t)(p->columns - 1)) line[p->columns - 1] = '\0';
    printf("\r%s\033[K", line);
    fflush(stdout);
}

void progress_end(progress *p, double loss, double accuracy, double test_accuracy)
{
    double elapsed = now_seconds() - p->started;
    if (p->live) printf("\r\033[K");
    /* Under 80 columns for up to 99 epochs and a million samples a second. */
    printf("epoch %d/%d  loss %.4f  train acc %5.2f%%  test acc %5.2f%%  %.1fs %.0f/s\n", p->epoch, p->epochs, loss,
           100 * accuracy, 100 * test_accuracy, elapsed, elapsed > 0 ? (double)p->samples_per_epoch / elapsed : 0);
    fflush(stdout);
}

void print_confusion_matrix(FILE *f, const int64_t confusion[10][10])
{
    fprintf(f, "confusion matrix (rows: true digit, columns: predicted)\n      ");
    for (int j = 0; j < 10; j++) fprintf(f, "%5d", j);
    fprintf(f, "\n");
    for (int i = 0; i < 10; i++) {
        fprintf(f, "  %d | ", i);
        for (int j = 0; j < 10; j++) fprintf(f, "%5lld", (long long)confusion[i][j]);
        fprintf(f, "\n");
    }
}

/* A polyline of values (one per epoch) scaled into the plot box. */
static void polyline(FILE *f, const double *values, int n, double low, double high, const char *color)
{
    const double left = 60, top = 30, width = 520, height = 300;
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
    for (int i = 0; i < n; i++) {
        double x = left + (n > 1 ? width * i / (n - 1) : width / 2);
        double v = (values[i] - low) / (high > low ? high - low : 1);
        fprintf(f, "%.1f,%.1f ", x, top + height * (1 - (v < 0 ? 0 : v > 1 ? 1 : v)));
    }
    fprintf(f, "\"/>\n");
}

bool write_curves_svg(const char *path, const double *train_loss, const double *train_acc, const double *test_acc,
                      int epochs, char *error, size_t error_size)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        return false;
    }
    errno           = 0; /* from here on, set only by a failed write */
    double max_loss = 0;
    for (int i = 0; i < epochs; i++) max_loss = train_loss[i] > max_loss ? train_loss[i] : max_loss;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"660\" height=\"380\" font-family=\"sans-serif\" "
               "font-size=\"12\">\n<rect width=\"660\" height=\"380\" fill=\"white\"/>\n"
               "<rect x=\"60\" y=\"30\" width=\"520\" height=\"300\" fill=\"none\" stroke=\"#999\"/>\n"
               "<text x=\"320\" y=\"20\" text-anchor=\"middle\">nabla-train: loss and accuracy per epoch</text>\n"
               "<text x=\"320\" y=\"360\" text-anchor=\"middle\">epoch (1 to %d)</text>\n"
               "<text x=\"55\" y=\"34\" text-anchor=\"end\">%.3g</text><text x=\"55\" y=\"330\" text-anchor=\"end\">0"
               "</text>\n<text x=\"585\" y=\"34\">100%%</text><text x=\"585\" y=\"330\">0%%</text>\n",
            epochs, max_loss);
    polyline(f, train_loss, epochs, 0, max_loss, "#d62728");
    polyline(f, train_acc, epochs, 0, 1, "#1f77b4");
    polyline(f, test_acc, epochs, 0, 1, "#2ca02c");
    fprintf(f, "<text x=\"70\" y=\"350\" fill=\"#d62728\">train loss (left scale)</text>\n"
               "<text x=\"250\" y=\"350\" fill=\"#1f77b4\">train accuracy</text>\n"
               "<text x=\"400\" y=\"350\" fill=\"#2ca02c\">test accuracy (right scale)</text>\n</svg>\n");
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
