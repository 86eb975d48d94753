/*
 * The first stage of a DockerToVms disk or ISO boot, run as /init of a small initramfs.
 *
 * It loads the kernel modules listed in /modules/order (in that order), finds the root:
 *   mode=disk  the block device whose ext4 superblock carries uuid=<32 hex digits>;
 *   mode=iso   the block device holding an ISO 9660 volume named label=<volume id>, whose
 *              file image=<path> is a squashfs mounted read-only under a tmpfs overlay;
 * then makes that root the new / and executes init=<path> on it as PID 1, passing on its
 * arguments and environment. Settings come from /stage1.conf, one key=value a line.
 * On any failure it prints why on the console and powers the machine off, so that a
 * broken image never waits forever.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/loop.h>

/* Lets the kernel decompress a module itself (CONFIG_MODULE_DECOMPRESS). */
#define COMPRESSED_MODULE 4

extern char **environ;

static char mode[16] = "disk";
static char uuid[40];
static char label[40];
static char image[256] = "/live/root.squashfs";
static char init[256] = "/init";
static int wait_seconds = 30;

static void say(const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    fputs("dockertovms-stage1: ", stdout);
    vfprintf(stdout, format, arguments);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(arguments);
}

static void __attribute__((noreturn)) fail(const char *what)
{
    say("error: %s: %s; powering off", what, strerror(errno));
    sync();
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}

static void copy_value(char *target, size_t size, const char *value)
{
    snprintf(target, size, "%s", value);
}

static void read_settings(void)
{
    FILE *file = fopen("/stage1.conf", "r");
    char line[512];
    if (file == NULL)
        fail("cannot read /stage1.conf");

    while (fgets(line, sizeof line, file) != NULL) {
        char *equals = strchr(line, '=');
        line[strcspn(line, "\r\n")] = '\0';
        if (equals == NULL)
            continue;
        *equals = '\0';
        const char *value = equals + 1;
        if (strcmp(line, "mode") == 0)
            copy_value(mode, sizeof mode, value);
        else if (strcmp(line, "uuid") == 0)
            copy_value(uuid, sizeof uuid, value);
        else if (strcmp(line, "label") == 0)
            copy_value(label, sizeof label, value);
        else if (strcmp(line, "image") == 0)
            copy_value(image, sizeof image, value);
        else if (strcmp(line, "init") == 0)
            copy_value(init, sizeof init, value);
        else if (strcmp(line, "wait") == 0)
            wait_seconds = atoi(value);
    }
    fclose(file);
}

static int ends_with(const char *text, const char *suffix)
{
    size_t length = strlen(text), suffix_length = strlen(suffix);
    return length >= suffix_length && strcmp(text + length - suffix_length, suffix) == 0;
}

static void load_modules(void)
{
    FILE *order = fopen("/modules/order", "r");
    char name[256], path[300];
    if (order == NULL)
        return;

    while (fgets(name, sizeof name, order) != NULL) {
        name[strcspn(name, "\r\n")] = '\0';
        if (name[0] == '\0')
            continue;
        snprintf(path, sizeof path, "/modules/%s", name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            say("cannot open %s: %s", path, strerror(errno));
            continue;
        }
        int flags = ends_with(name, ".ko") ? 0 : COMPRESSED_MODULE;
        if (syscall(SYS_finit_module, fd, "", flags) != 0 && errno != EEXIST)
            say("module %s not loaded: %s", name, strerror(errno));
        close(fd);
    }
    fclose(order);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Whether the device holds the ext4 file system with the wanted UUID. */
static int is_wanted_ext4(int fd)
{
    unsigned char block[0x78];
    if (pread(fd, block, sizeof block, 1024) != (ssize_t)sizeof block)
        return 0;
    if (block[0x38] != 0x53 || block[0x39] != 0xEF)
        return 0;
    for (int i = 0; i < 16; i++) {
        int high = hex_value(uuid[2 * i]), low = hex_value(uuid[2 * i + 1]);
        if (high < 0 || low < 0 || block[0x68 + i] != (unsigned char)(high * 16 + low))
            return 0;
    }
    return 1;
}

/* Whether the device holds the ISO 9660 volume with the wanted volume id. */
static int is_wanted_iso(int fd)
{
    unsigned char sector[0x48];
    char name[33];
    if (pread(fd, sector, sizeof sector, 0x8000) != (ssize_t)sizeof sector)
        return 0;
    if (sector[0] != 1 || memcmp(sector + 1, "CD001", 5) != 0)
        return 0;
    memcpy(name, sector + 0x28, 32);
    name[32] = '\0';
    for (int i = 31; i >= 0 && name[i] == ' '; i--)
        name[i] = '\0';
    return strcmp(name, label) == 0;
}

/* Whether a block device has no medium (an empty CD drive): opening one can take long. */
static int is_empty(const char *name)
{
    char path[300], size[32] = "";
    snprintf(path, sizeof path, "/sys/class/block/%s/size", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t length = read(fd, size, sizeof size - 1);
    close(fd);
    return length > 0 && atoll(size) == 0;
}

/* Looks through the block devices, again and again while they appear, for the root. */
static int find_device(char *path, size_t size)
{
    int wanted_iso = strcmp(mode, "iso") == 0;
    for (int attempt = 0; attempt < wait_seconds * 10; attempt++) {
        DIR *blocks = opendir("/sys/class/block");
        struct dirent *entry;
        while (blocks != NULL && (entry = readdir(blocks)) != NULL) {
            if (entry->d_name[0] == '.' || is_empty(entry->d_name))
                continue;
            snprintf(path, size, "/dev/%s", entry->d_name);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            int found = wanted_iso ? is_wanted_iso(fd) : is_wanted_ext4(fd);
            close(fd);
            if (found) {
                closedir(blocks);
                return 1;
            }
        }
        if (blocks != NULL)
            closedir(blocks);
        struct timespec pause_time = {0, 100 * 1000 * 1000};
        nanosleep(&pause_time, NULL);
    }
    return 0;
}

/* Attaches a file to a free loop device, read-only, and returns the device's path. */
static void attach_loop(const char *file, char *device, size_t size)
{
    int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0)
        fail("cannot open /dev/loop-control");
    int number = ioctl(control, LOOP_CTL_GET_FREE);
    if (number < 0)
        fail("no free loop device");
    close(control);

    snprintf(device, size, "/dev/loop%d", number);
    int backing = open(file, O_RDONLY | O_CLOEXEC);
    if (backing < 0)
        fail(file);
    int loop = open(device, O_RDONLY | O_CLOEXEC);
    if (loop < 0)
        fail(device);
    if (ioctl(loop, LOOP_SET_FD, backing) < 0)
        fail("cannot attach the root image to a loop device");
    close(loop);
    close(backing);
}

static void mount_root(const char *device)
{
    if (strcmp(mode, "iso") != 0) {
        if (mount(device, "/root", "ext4", 0, NULL) != 0)
            fail("cannot mount the ext4 root");
        return;
    }

    char file[300], loop[64];
    if (mount(device, "/cdrom", "iso9660", MS_RDONLY, NULL) != 0)
        fail("cannot mount the ISO 9660 volume");
    snprintf(file, sizeof file, "/cdrom%s", image);
    attach_loop(file, loop, sizeof loop);
    if (mount(loop, "/lower", "squashfs", MS_RDONLY, NULL) != 0)
        fail("cannot mount the squashfs root");

    /* The squashfs is read-only; a tmpfs above it takes the writes, in memory. */
    if (mount("tmpfs", "/upper", "tmpfs", 0, "mode=0755") != 0)
        fail("cannot mount the tmpfs for writes");
    mkdir("/upper/data", 0755);
    mkdir("/upper/work", 0755);
    if (mount("overlay", "/root", "overlay", 0,
              "lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work") != 0)
        fail("cannot mount the overlay root");
}

static void remove_files(void)
{
    DIR *modules = opendir("/modules");
    struct dirent *entry;
    char path[300];
    while (modules != NULL && (entry = readdir(modules)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/modules/%s", entry->d_name);
        unlink(path);
    }
    if (modules != NULL)
        closedir(modules);
    unlink("/stage1.conf");
    unlink("/init");
}

int main(int argc, char **argv)
{
    char device[300];
    (void)argc;

    mount("devtmpfs", "/dev", "devtmpfs", 0, "mode=0755");
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    if (fcntl(1, F_GETFD) < 0) {
        int console = open("/dev/console", O_RDWR);
        dup2(console, 0);
        dup2(console, 1);
        dup2(console, 2);
    }

    read_settings();
    load_modules();
    if (!find_device(device, sizeof device)) {
        errno = ENODEV;
        fail(strcmp(mode, "iso") == 0 ? "no block device holds the ISO volume"
                                       : "no block device holds the ext4 root");
    }
    say("root on %s", device);
    mount_root(device);

    /* The initramfs stays in memory after the switch; its files are no longer needed. */
    remove_files();

    /* The init on the new root mounts /dev, /proc and /sys itself, as it would in a container. */
    umount2("/proc", MNT_DETACH);
    umount2("/sys", MNT_DETACH);
    umount2("/dev", MNT_DETACH);

    if (chdir("/root") != 0 || mount(".", "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0
        || chdir("/") != 0)
        fail("cannot switch to the new root");

    argv[0] = init;
    execve(init, argv, environ);
    fail(init);
}
