/*
 * report.c — what nabla-train shows and writes: the per-epoch progress bar
 * (live on a terminal, one plain line per epoch otherwise) and the
 * confusion matrix. The learning curves are plot.c's.
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

void print_confusion_matrix(FILE *f, const int64_t confusion[10][10], const class_names *names)
{
    if (names != NULL && names->count > 0) {
        fprintf(f, "classes:");
        for (int i = 0; i < names->count; i++) fprintf(f, "%s %d %s", i ? "," : "", i, names->name[i]);
        fprintf(f, "\n");
    }
    fprintf(f, "confusion matrix (rows: true class, columns: predicted class)\n      ");
    for (int j = 0; j < 10; j++) fprintf(f, "%5d", j);
    fprintf(f, "\n");
    for (int i = 0; i < 10; i++) {
        fprintf(f, "  %d | ", i);
        for (int j = 0; j < 10; j++) fprintf(f, "%5lld", (long long)confusion[i][j]);
        fprintf(f, "\n");
    }
}

bool read_class_names(const char *path, class_names *names)
{
    names->count = 0;
    FILE *f      = fopen(path, "r");
    if (f == NULL) return false;
    char line[256];
    while (names->count < 10 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        /* Printable characters only: the names go to a terminal. */
        size_t kept = 0;
        for (size_t i = 0; line[i] && kept + 1 < sizeof names->name[0]; i++)
            if ((unsigned char)line[i] >= 32 && line[i] != 127) names->name[names->count][kept++] = line[i];
        names->name[names->count][kept] = '\0';
        names->count++;
    }
    fclose(f);
    return names->count > 0;
}
