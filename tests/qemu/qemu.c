/* SPDX-License-Identifier: MIT */
/*
 * QEMU machine over qtest (qemu.h). Facts used, from QEMU 7.2's sources and
 * documentation: the qtest line protocol (softmmu/qtest.c: "readl ADDR" ->
 * "OK 0x...", "writel ADDR VAL" -> "OK", asynchronous "IRQ ..." lines), q35
 * PCI configuration through ports 0xCF8/0xCFC, the virt machine's RAM at
 * 0x40000000 and high PCIe ECAM at 0x4010000000 (hw/arm/virt.c), and edu's
 * registers (hw/misc/edu.c: DMA source 0x80, destination 0x88, count 0x90,
 * command 0x98 with bit 0 = run, bit 1 = buffer-to-RAM).
 */
#define _GNU_SOURCE
#include "qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QM_TIMEOUT_MS 10000
#define X86_BAR_BASE 0xC0000000ull   /* inside q35's 32-bit PCI hole */
#define ARM_BAR_BASE 0x10000000ull   /* virt's 32-bit PCIe MMIO window */
#define ARM_RAM_BASE 0x40000000ull
#define ARM_ECAM 0x4010000000ull

static struct qm *qm_live; /* the machine to report on when bailing out */

/* A test that exits on a failed REQUIRE still kills QEMU and leaves no directory. */
static void qm_atexit(void)
{
	if (qm_live)
		qm_stop(qm_live);
}

static void qm_log_tail(const struct qm *m)
{
	char path[96], buf[2048];
	snprintf(path, sizeof(path), "%s/stderr", m->dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
		printf("# qemu: %s\n", l);
}

void qm_bail(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("Bail out! qemu: %s\n", msg);
	if (qm_live) {
		qm_log_tail(qm_live);
		qm_stop(qm_live);
	}
	fflush(stdout);
	exit(1);
}

const char *qm_binary(enum qm_arch arch)
{
	static const char *const names[] = { [QM_X86] = "qemu-system-x86_64",
					     [QM_ARM] = "qemu-system-aarch64" };
	static char found[3][256];
	const char *path = getenv("PATH");
	char *dirs = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;

	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(found[arch], sizeof(found[arch]), "%s/%s", d, names[arch]);
		if (access(found[arch], X_OK) == 0) {
			free(dirs);
			return found[arch];
		}
	}
	free(dirs);
	return NULL;
}

/* Halt forever: x86 "cli; hlt; jmp .-1" at the reset vector, ARM "wfi; b .-4" at 0. */
static int qm_write_firmware(const char *path, enum qm_arch arch)
{
	static uint8_t rom[64 << 10];
	static const uint8_t x86[] = { 0xFA, 0xF4, 0xEB, 0xFD };
	static const uint8_t arm[] = { 0x7F, 0x20, 0x03, 0xD5, 0xFF, 0xFF, 0xFF, 0x17 };

	memset(rom, 0, sizeof(rom));
	if (arch == QM_X86)
		memcpy(rom + sizeof(rom) - 16, x86, sizeof(x86));
	else
		memcpy(rom, arm, sizeof(arm));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, rom, sizeof(rom));
	close(fd);
	return w == (ssize_t)sizeof(rom) ? 0 : -1;
}

static void qm_send(struct qm *m, const char *cmd)
{
	size_t len = strlen(cmd);
	while (len) {
		ssize_t w = send(m->sock, cmd, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			qm_bail("send '%s': %s", cmd, strerror(errno));
		cmd += w;
		len -= (size_t)w;
	}
}

/* Read one '\n'-terminated line into m->line (socket read byte-wise: answers are short). */
static void qm_recv_line(struct qm *m)
{
	size_t n = 0;
	for (;;) {
		struct pollfd p = { .fd = m->sock, .events = POLLIN };
		int r = poll(&p, 1, QM_TIMEOUT_MS);
		if (r == 0)
			qm_bail("no answer in %d ms", QM_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		char c;
		ssize_t got = recv(m->sock, &c, 1, 0);
		if (got <= 0)
			qm_bail("qtest socket closed (QEMU died?)");
		if (c == '\n')
			break;
		if (n + 1 < sizeof(m->line))
			m->line[n++] = c;
	}
	m->line[n] = 0;
}

/* The answer to @cmd (sent already); returns the value after "OK " (0 when none). */
static uint64_t qm_answer(struct qm *m, const char *cmd)
{
	for (;;) {
		qm_recv_line(m);
		if (!strncmp(m->line, "IRQ", 3))
			continue; /* asynchronous interrupt notice */
		if (!strncmp(m->line, "OK", 2))
			return m->line[2] == ' ' ? strtoull(m->line + 3, NULL, 0) : 0;
		qm_bail("'%.*s' -> '%s'", (int)strcspn(cmd, "\n"), cmd, m->line);
	}
}

/* One command; returns the value after "OK " (0 when none). */
static uint64_t qm_cmd(struct qm *m, const char *fmt, ...)
{
	char cmd[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
	va_end(ap);
	cmd[n] = '\n';
	cmd[n + 1] = 0;
	qm_send(m, cmd);
	return qm_answer(m, cmd);
}

uint64_t qm_read(struct qm *m, uint64_t addr, unsigned size)
{
	const char *op = size == 1 ? "readb" : size == 2 ? "readw" : size == 4 ? "readl" : "readq";
	return qm_cmd(m, "%s 0x%" PRIx64, op, addr);
}

void qm_write(struct qm *m, uint64_t addr, uint64_t val, unsigned size)
{
	const char *op = size == 1 ? "writeb" : size == 2 ? "writew" : size == 4 ? "writel" : "writeq";
	qm_cmd(m, "%s 0x%" PRIx64 " 0x%" PRIx64, op, addr, val);
}

void qm_write_many(struct qm *m, const uint64_t *addr, const uint64_t *val, unsigned n,
		   unsigned size)
{
	const char *op = size == 1 ? "writeb" : size == 2 ? "writew" : size == 4 ? "writel" : "writeq";
	char buf[QM_WRITE_MANY * 64] = "";
	size_t len = 0;

	if (n > QM_WRITE_MANY)
		qm_bail("%u writes in one batch", n);
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s 0x%" PRIx64 " 0x%" PRIx64 "\n",
					op, addr[i], val[i]);
	qm_send(m, buf);
	for (unsigned i = 0; i < n; i++)
		qm_answer(m, buf);
}

void *qm_gpa(struct qm *m, uint64_t gpa, size_t len)
{
	if (gpa < m->ram_base || gpa - m->ram_base > m->ram_size ||
	    len > m->ram_size - (gpa - m->ram_base))
		qm_bail("guest address 0x%" PRIx64 "+0x%zx outside RAM", gpa, len);
	return m->ram + (gpa - m->ram_base);
}

uint64_t qm_alloc(struct qm *m, uint64_t size, uint64_t align)
{
	uint64_t a = (m->brk + align - 1) & ~(align - 1);
	if (a + size > m->ram_base + m->ram_size)
		qm_bail("guest RAM exhausted (0x%" PRIx64 " bytes)", size);
	m->brk = a + size;
	memset(qm_gpa(m, a, size), 0, size);
	return a;
}

static void *qm_pt_alloc(void *ctx, size_t size, uint64_t *phys)
{
	struct qm *m = ctx;
	*phys = qm_alloc(m, size, size);
	m->tables_live++;
	return qm_gpa(m, *phys, size);
}

static void qm_pt_free(void *ctx, void *virt, size_t size)
{
	struct qm *m = ctx;
	(void)virt;
	(void)size;
	m->tables_live--;
}

static void *qm_pt_phys_to_virt(void *ctx, uint64_t phys)
{
	return qm_gpa(ctx, phys, 8);
}

void qm_fill(struct qm *m, uint64_t gpa, uint32_t len, uint32_t seed)
{
	uint8_t *p = qm_gpa(m, gpa, len);
	uint32_t x = seed | 1;
	for (uint32_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

bool qm_same(struct qm *m, uint64_t a, uint64_t b, uint32_t len)
{
	return !memcmp(qm_gpa(m, a, len), qm_gpa(m, b, len), len);
}

const struct iopt_pt_provider *qm_provider(struct qm *m)
{
	m->provider = (struct iopt_pt_provider){ .alloc = qm_pt_alloc, .free = qm_pt_free,
						 .phys_to_virt = qm_pt_phys_to_virt, .ctx = m };
	return &m->provider;
}

int qm_start(struct qm *m, const struct qm_cfg *cfg)
{
	const char *bin = qm_binary(cfg->arch);
	char ram_path[96], sock_path[96], fw_path[96], log_path[96], mem[256], mach[160];
	char sizearg[32];

	static bool atexit_done;
	if (!atexit_done && !atexit(qm_atexit))
		atexit_done = true;
	memset(m, 0, sizeof(*m));
	m->sock = -1;
	m->arch = cfg->arch;
	m->ram_size = cfg->ram_size ? cfg->ram_size : 128ull << 20;
	m->ram_base = cfg->arch == QM_ARM ? ARM_RAM_BASE : 0;
	m->brk = m->ram_base + (1ull << 20);
	m->mmio_next = cfg->arch == QM_ARM ? ARM_BAR_BASE : X86_BAR_BASE;
	m->ecam = cfg->arch == QM_ARM ? ARM_ECAM : 0;
	if (!bin) {
		fprintf(stderr, "qemu: no QEMU binary for this machine\n");
		return -1;
	}
	snprintf(m->dir, sizeof(m->dir), "/tmp/iopt-qemu-XXXXXX");
	if (!mkdtemp(m->dir))
		return -1;
	snprintf(ram_path, sizeof(ram_path), "%s/ram", m->dir);
	snprintf(sock_path, sizeof(sock_path), "%s/qtest.sock", m->dir);
	snprintf(fw_path, sizeof(fw_path), "%s/fw.bin", m->dir);
	snprintf(log_path, sizeof(log_path), "%s/stderr", m->dir);

	int rfd = open(ram_path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (rfd < 0 || ftruncate(rfd, (off_t)m->ram_size) || qm_write_firmware(fw_path, cfg->arch)) {
		if (rfd >= 0)
			close(rfd);
		return -1;
	}
	m->ram = mmap(NULL, m->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
	close(rfd);
	if (m->ram == MAP_FAILED) {
		m->ram = NULL;
		return -1;
	}

	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
		return -1;

	snprintf(sizearg, sizeof(sizearg), "%" PRIu64 "M", m->ram_size >> 20);
	snprintf(mem, sizeof(mem), "memory-backend-file,id=ram0,size=%s,mem-path=%s,share=on",
		 sizearg, ram_path);
	snprintf(mach, sizeof(mach), "%s,memory-backend=ram0%s", cfg->arch == QM_ARM ? "virt" : "q35",
		 cfg->machine_opts ? cfg->machine_opts : "");
	char qtest[112];
	snprintf(qtest, sizeof(qtest), "unix:%s", sock_path);

	const char *argv[64];
	int n = 0;
	argv[n++] = bin;
	const char *common[] = { "-machine", mach, "-object", mem, "-m", sizearg, "-accel", "tcg",
				 "-icount", "shift=0,sleep=off", "-bios", fw_path, "-display", "none",
				 "-nodefaults", "-no-user-config", "-qtest", qtest, "-qtest-log",
				 "/dev/null", "-device", "edu,dma_mask=0xffffffffffffffff" };
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		argv[n++] = common[i];
	if (cfg->arch == QM_ARM) {
		argv[n++] = "-cpu";
		argv[n++] = "max";
	}
	for (size_t i = 0; cfg->args && cfg->args[i] && n < 62; i++)
		argv[n++] = cfg->args[i];
	argv[n] = NULL;

	fflush(stdout);
	pid_t parent = getpid();
	m->pid = fork();
	if (m->pid < 0)
		return -1;
	if (m->pid == 0) {
		/* QEMU does not exit when the qtest socket closes: tie it to us. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int nul = open("/dev/null", O_RDWR);
		if (fd >= 0)
			dup2(fd, 2);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	qm_live = m;

	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int r;
	while ((r = poll(&p, 1, QM_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (r <= 0) {
		close(lfd);
		qm_bail("QEMU did not connect to the qtest socket");
	}
	m->sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (m->sock < 0)
		qm_bail("accept: %s", strerror(errno));
	/*
	 * QEMU connects before it builds the machine (loads the firmware, maps
	 * RAM); once it answers a command it has opened everything: leave
	 * nothing on disk but the log.
	 */
	qm_read(m, m->ram_base, 1);
	unlink(ram_path);
	unlink(sock_path);
	unlink(fw_path);
	return 0;
}

void qm_stop(struct qm *m)
{
	char path[96];

	if (qm_live == m)
		qm_live = NULL;
	if (m->pid > 0) {
		kill(m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
		m->pid = 0;
	}
	if (m->sock >= 0)
		close(m->sock);
	m->sock = -1;
	if (m->ram)
		munmap(m->ram, m->ram_size);
	m->ram = NULL;
	if (m->dir[0]) {
		snprintf(path, sizeof(path), "%s/stderr", m->dir);
		unlink(path);
		rmdir(m->dir);
		m->dir[0] = 0;
	}
}

/* ---- PCI ---- */

static void qm_cf8(struct qm *m, unsigned bdf, unsigned off)
{
	qm_cmd(m, "outl 0xcf8 0x%x", 0x80000000u | bdf << 8 | (off & 0xFCu));
}

uint32_t qm_pci_read(struct qm *m, unsigned bdf, unsigned off, unsigned size)
{
	if (m->ecam)
		return (uint32_t)qm_read(m, m->ecam + ((uint64_t)bdf << 12) + off, size);
	qm_cf8(m, bdf, off);
	const char *op = size == 1 ? "inb" : size == 2 ? "inw" : "inl";
	return (uint32_t)qm_cmd(m, "%s 0x%x", op, 0xCFCu + (off & 3));
}

void qm_pci_write(struct qm *m, unsigned bdf, unsigned off, uint32_t val, unsigned size)
{
	if (m->ecam) {
		qm_write(m, m->ecam + ((uint64_t)bdf << 12) + off, val, size);
		return;
	}
	qm_cf8(m, bdf, off);
	const char *op = size == 1 ? "outb" : size == 2 ? "outw" : "outl";
	qm_cmd(m, "%s 0x%x 0x%x", op, 0xCFCu + (off & 3), val);
}

/* First function whose config dword at @off, masked, equals @want and whose vendor is @vendor. */
static int qm_pci_scan(struct qm *m, uint16_t vendor, unsigned off, uint32_t mask, uint32_t want)
{
	for (unsigned devfn = 0; devfn < 256; devfn++) {
		uint32_t id = qm_pci_read(m, devfn, 0, 4);
		if ((id & 0xFFFF) == vendor && (qm_pci_read(m, devfn, off, 4) & mask) == want)
			return (int)devfn;
		if ((devfn & 7) == 0 && (id & 0xFFFF) == 0xFFFF)
			devfn += 7; /* no function 0: no device */
	}
	return -1;
}

int qm_pci_find(struct qm *m, uint16_t vendor, uint16_t device)
{
	return qm_pci_scan(m, vendor, 0, 0xFFFF0000u, (uint32_t)device << 16);
}

int qm_pci_find_class(struct qm *m, uint16_t vendor, uint32_t class_code)
{
	/* Dword 0x08: revision 7:0, class code 31:8. */
	return qm_pci_scan(m, vendor, 0x08, 0xFFFFFF00u, class_code << 8);
}

unsigned qm_pci_cap(struct qm *m, unsigned bdf, uint8_t id)
{
	/* Status bit 4: a capability list at 0x34; 48 hops bound a looping list. */
	if (!(qm_pci_read(m, bdf, 0x06, 2) & 0x10))
		return 0;
	unsigned p = qm_pci_read(m, bdf, 0x34, 1) & 0xFC;
	for (int hops = 0; p && hops < 48; hops++) {
		if (qm_pci_read(m, bdf, p, 1) == id)
			return p;
		p = qm_pci_read(m, bdf, p + 1, 1) & 0xFC;
	}
	return 0;
}

uint64_t qm_pci_map_bar(struct qm *m, unsigned bdf, unsigned bar)
{
	unsigned off = 0x10 + 4 * bar;
	qm_pci_write(m, bdf, off, 0xFFFFFFFFu, 4);
	uint32_t mask = qm_pci_read(m, bdf, off, 4) & ~0xFu;
	uint64_t size = (uint64_t)(~mask + 1u);
	uint64_t addr = (m->mmio_next + size - 1) & ~(size - 1);
	m->mmio_next = addr + size;
	qm_pci_write(m, bdf, off, (uint32_t)addr, 4);
	/* Command register: memory space (bit 1) and bus master (bit 2). */
	qm_pci_write(m, bdf, 4, qm_pci_read(m, bdf, 4, 2) | 0x6, 2);
	return addr;
}

/* ---- edu ---- */

void qm_edu_init(struct qm *m, struct qm_edu *e)
{
	int bdf = qm_pci_find(m, 0x1234, 0x11E8);
	if (bdf < 0)
		qm_bail("no edu device on bus 0");
	qm_edu_init_at(m, e, (unsigned)bdf);
}

void qm_edu_init_at(struct qm *m, struct qm_edu *e, unsigned bdf)
{
	if (qm_pci_read(m, bdf, 0, 4) != 0x11E81234u)
		qm_bail("no edu device at %02x.%x", bdf >> 3, bdf & 7);
	e->m = m;
	e->bdf = bdf;
	e->mmio = qm_pci_map_bar(m, e->bdf, 0);
	uint32_t id = qm_readl(m, e->mmio); /* 0x010000ED: version 1.0, 0xED */
	if ((id & 0xFF) != 0xED)
		qm_bail("edu identification register reads 0x%x", id);
}

void qm_edu_dma(struct qm_edu *e, bool to_dev, uint64_t iova, uint32_t off, uint32_t len)
{
	if (!len || len > QM_EDU_MAX || off + len > 4096)
		qm_bail("edu DMA of %u bytes at buffer offset %u", len, off);
	const uint64_t reg[4] = { e->mmio + 0x80, e->mmio + 0x88, e->mmio + 0x90, e->mmio + 0x98 };
	const uint64_t val[4] = { to_dev ? iova : QM_EDU_BUF + off, to_dev ? QM_EDU_BUF + off : iova,
				  len, to_dev ? 1 : 3 };
	qm_write_many(e->m, reg, val, 4, 8); /* one round trip: QEMU answers in order */
	for (int i = 0; qm_readq(e->m, e->mmio + 0x98) & 1; i++)
		if (i > 100000)
			qm_bail("edu DMA never completed");
}
