/*
 * paced-producer: the latency producer of bench/peers.ts. A librdkafka producer that writes
 * `-c` messages of `-s` bytes at `-r` messages/s (to `-p`, or where the partitioner puts them),
 * in bursts of what is due each millisecond, and waits between bursts in rd_kafka_poll, which
 * serves delivery reports as they arrive. Each payload starts with "LATENCY:<wall clock µs>", as
 * `rdkafka_performance -P -l` writes it, so `rdkafka_performance -C -l -A FILE` measures it.
 *
 * Why not `rdkafka_performance -P -l -r RATE`: at more than 10,000 messages/s its pacing waits by
 * polling with a 0 ms timeout in a loop, so the producer spins a whole core. On a 2-core machine
 * that is half the machine, taken from the broker and the consumer, and the latency measured is
 * the scheduler's. Redis' latency producer in peers.ts already paces per millisecond.
 *
 * Prints rdkafka_performance's producer summary line (bench/lib/rdkafka-run.ts parses it) and the
 * delivery latency (produce() to delivery report) percentiles.
 *
 * usage: paced-producer -b BOOTSTRAP -t TOPIC [-p PARTITION] [-s BYTES] -c COUNT -r RATE [-X key=value]...
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>

static long delivered;
static long failed;
/* Delivery latencies (µs, send to delivery report), one per message delivered. */
static int64_t *delivery_us;

static uint64_t wall_clock_us(void) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static int64_t monotonic_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *message, void *opaque) {
        (void)rk;
        (void)opaque;
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                delivery_us[delivered++] = monotonic_us() - (int64_t)(intptr_t)message->_private;
                return;
        }
        if (failed++ < 5) fprintf(stderr, "%% delivery failed: %s\n", rd_kafka_err2str(message->err));
}

static int compare_int64(const void *a, const void *b) {
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return x < y ? -1 : x > y;
}

static double percentile_ms(const int64_t *sorted, long n, double q) {
        if (n == 0) return 0;
        long index = (long)(q * (double)n);
        return (double)sorted[index < n ? index : n - 1] / 1000;
}

static void fail(const char *what, const char *why) {
        fprintf(stderr, "paced-producer: %s: %s\n", what, why);
        exit(1);
}

static void usage(const char *why) {
        fprintf(stderr, "paced-producer: %s\nusage: paced-producer -b BOOTSTRAP -t TOPIC [-p PARTITION] [-s BYTES] -c COUNT -r RATE [-X key=value]...\n", why);
        exit(2);
}

int main(int argc, char **argv) {
        const char *topic = NULL;
        int32_t partition = RD_KAFKA_PARTITION_UA; /* the default partitioner's choice */
        long size = 1024;
        long count = -1;
        double rate = -1;
        char error[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        int option;
        while ((option = getopt(argc, argv, "b:t:p:s:c:r:X:")) != -1) {
                switch (option) {
                case 'b':
                        if (rd_kafka_conf_set(conf, "bootstrap.servers", optarg, error, sizeof(error)) != RD_KAFKA_CONF_OK) usage(error);
                        break;
                case 't': topic = optarg; break;
                case 'p': partition = (int32_t)atoi(optarg); break;
                case 's': size = atol(optarg); break;
                case 'c': count = atol(optarg); break;
                case 'r': rate = atof(optarg); break;
                case 'X': {
                        char *equals = strchr(optarg, '=');
                        if (equals == NULL) usage("-X needs key=value");
                        *equals = '\0';
                        if (rd_kafka_conf_set(conf, optarg, equals + 1, error, sizeof(error)) != RD_KAFKA_CONF_OK) usage(error);
                        break;
                }
                default: usage("unknown option");
                }
        }
        if (topic == NULL || count < 1 || rate <= 0) usage("-t, -c and -r are required");
        if (size < 32) size = 32; /* room for "LATENCY:" and 20 digits */
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
        if (producer == NULL) fail("cannot create the producer", error);
        rd_kafka_topic_t *handle = rd_kafka_topic_new(producer, topic, NULL);
        char *payload = malloc((size_t)size);
        delivery_us = malloc(sizeof(int64_t) * (size_t)count);
        if (payload == NULL || delivery_us == NULL) fail("out of memory", "for the payload and one latency per message");
        memset(payload, 'x', (size_t)size);

        long sent = 0;
        long queue_full = 0;
        const int64_t started_us = monotonic_us();
        int64_t tick_us = started_us;
        while (sent < count) {
                /* What is due by now; the first message goes at once. */
                long due = 1 + (long)((double)(monotonic_us() - started_us) * rate / 1e6);
                if (due > count) due = count;
                while (sent < due) {
                        snprintf(payload, 32, "LATENCY:%" PRIu64, wall_clock_us());
                        if (rd_kafka_produce(handle, partition, RD_KAFKA_MSG_F_COPY, payload, (size_t)size, NULL, 0, (void *)(intptr_t)monotonic_us()) == -1) {
                                if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) fail("produce failed", rd_kafka_err2str(rd_kafka_last_error()));
                                queue_full++;
                                rd_kafka_poll(producer, 1);
                                continue;
                        }
                        sent++;
                }
                /* Until the next millisecond: serve delivery reports as they come (a poll
                 * returns at the first one), so their latency is not rounded to the tick. */
                tick_us += 1000;
                do rd_kafka_poll(producer, 1);
                while (monotonic_us() < tick_us);
        }
        rd_kafka_flush(producer, 60 * 1000);
        const double elapsed_ms = (double)(monotonic_us() - started_us) / 1000;
        printf("%% %ld messages produced (%ld bytes), %ld delivered (offset 0, %ld failed) in %.0fms: %.0f msgs/s and %.2f MB/s, %ld produce failures, 0 in queue, no compression\n",
               sent, sent * size, delivered, failed, elapsed_ms, sent * 1000.0 / elapsed_ms, sent * size / elapsed_ms / 1000, queue_full);
        qsort(delivery_us, (size_t)delivered, sizeof(int64_t), compare_int64);
        printf("%% delivery latency: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n", percentile_ms(delivery_us, delivered, 0.5),
               percentile_ms(delivery_us, delivered, 0.99), percentile_ms(delivery_us, delivered, 0.999), percentile_ms(delivery_us, delivered, 1));
        rd_kafka_topic_destroy(handle);
        rd_kafka_destroy(producer);
        free(payload);
        free(delivery_us);
        return failed == 0 && delivered == count ? 0 : 1;
}
