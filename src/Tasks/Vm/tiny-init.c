/*
 * PID 1 of a DockerToVms virtual machine: prepares the kernel's file systems, loads the
 * modules the machine needs, brings the network up, runs the app as the container image
 * would, and powers the machine off when the app ends.
 *
 * The root filesystem may be distroless (no shell, no tools), so everything happens here.
 * What to run comes from /etc/dockertovms/app.conf, written at build time: records ended by
 * a NUL byte, each "key=value", with the keys
 *   module=PATH   a kernel module to load, in order (dependencies first)
 *   arg=WORD      the command and its arguments, in order
 *   env=NAME=VAL  the environment of the app
 *   workdir=PATH  the working directory
 *   uid=N, gid=N  the numeric user and group
 * Built statically, so it needs no library of the image.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_PATH "/etc/dockertovms/app.conf"
#define MAX_ITEMS 512
#define MODULE_INIT_COMPRESSED_FILE 4

static char *args[MAX_ITEMS + 1];
static char *envs[MAX_ITEMS + 1];
static char *modules[MAX_ITEMS + 1];
static int arg_count, env_count, module_count;
static const char *workdir = "/";
static uid_t uid;
static gid_t gid;

static void say(const char *format, ...)
{
    va_list list;
    va_start(list, format);
    fputs("dockertovms: ", stderr);
    vfprintf(stderr, format, list);
    fputc('\n', stderr);
    va_end(list);
}

static void power_off(void)
{
    sync();
    reboot(RB_POWER_OFF);
    /* Only reached when the kernel refused; a panic at least ends the machine. */
    for (;;)
        pause();
}

static void read_config(void)
{
    int fd = open(CONFIG_PATH, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        say("cannot open %s: %s", CONFIG_PATH, strerror(errno));
        power_off();
    }
    struct stat st;
    fstat(fd, &st);
    char *data = malloc(st.st_size + 1);
    ssize_t total = 0;
    while (total < st.st_size) {
        ssize_t n = read(fd, data + total, st.st_size - total);
        if (n <= 0)
            break;
        total += n;
    }
    close(fd);
    data[total] = '\0';

    char *next;
    for (char *record = data; record < data + total; record = next) {
        next = record + strlen(record) + 1;
        char *value = strchr(record, '=');
        if (value == NULL)
            continue;
        *value++ = '\0';
        if (strcmp(record, "module") == 0 && module_count < MAX_ITEMS)
            modules[module_count++] = value;
        else if (strcmp(record, "arg") == 0 && arg_count < MAX_ITEMS)
            args[arg_count++] = value;
        else if (strcmp(record, "env") == 0 && env_count < MAX_ITEMS)
            envs[env_count++] = value;
        else if (strcmp(record, "workdir") == 0)
            workdir = value;
        else if (strcmp(record, "uid") == 0)
            uid = (uid_t)strtoul(value, NULL, 10);
        else if (strcmp(record, "gid") == 0)
            gid = (gid_t)strtoul(value, NULL, 10);
    }
}

static void mount_one(const char *source, const char *target, const char *type,
                      unsigned long flags, const char *options)
{
    mkdir(target, 0755);
    if (mount(source, target, type, flags, options) != 0 && errno != EBUSY)
        say("cannot mount %s on %s: %s", type, target, strerror(errno));
}

static void mount_file_systems(void)
{
    mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    mount_one("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=620");
    mount_one("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
    mount_one("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");

    /* The kernel opened the console of the root filesystem, if it had one; the devtmpfs
       one is certain to exist. */
    int console = open("/dev/console", O_RDWR | O_NOCTTY);
    if (console >= 0) {
        dup2(console, 0);
        dup2(console, 1);
        dup2(console, 2);
        if (console > 2)
            close(console);
    }
}

static void load_modules(void)
{
    for (int i = 0; i < module_count; i++) {
        int fd = open(modules[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            say("cannot open module %s: %s", modules[i], strerror(errno));
            continue;
        }
        size_t length = strlen(modules[i]);
        int compressed = length > 3 && (strcmp(modules[i] + length - 3, ".xz") == 0
                                        || strcmp(modules[i] + length - 3, ".gz") == 0
                                        || strcmp(modules[i] + length - 4, ".zst") == 0);
        if (syscall(SYS_finit_module, fd, "", compressed ? MODULE_INIT_COMPRESSED_FILE : 0) != 0
            && errno != EEXIST)
            say("cannot load module %s: %s", modules[i], strerror(errno));
        close(fd);
    }
}

/* ---- network: loopback, then the first Ethernet interface by DHCP ---- */

static int set_flags(int sock, const char *name, short flags)
{
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(sock, SIOCGIFFLAGS, &request) != 0)
        return -1;
    request.ifr_flags |= flags;
    return ioctl(sock, SIOCSIFFLAGS, &request);
}

static int set_address(int sock, const char *name, unsigned long command, uint32_t address)
{
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    struct sockaddr_in *in = (struct sockaddr_in *)&request.ifr_addr;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = address;
    return ioctl(sock, command, &request);
}

static int first_ethernet(char *name)
{
    /* Interfaces are numbered in the order they appeared; ARPHRD_ETHER is type 1. */
    struct if_nameindex *all = if_nameindex();
    int found = 0;
    for (struct if_nameindex *i = all; i != NULL && i->if_index != 0 && !found; i++) {
        char path[128], type[16] = "";
        snprintf(path, sizeof path, "/sys/class/net/%s/type", i->if_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, type, sizeof type - 1);
        close(fd);
        if (n > 0 && atoi(type) == 1) {
            strncpy(name, i->if_name, IFNAMSIZ - 1);
            found = 1;
        }
    }
    if (all != NULL)
        if_freenameindex(all);
    return found;
}

struct dhcp_packet {
    uint8_t op, htype, hlen, hops;
    uint32_t xid;
    uint16_t secs, flags;
    uint32_t ciaddr, yiaddr, siaddr, giaddr;
    uint8_t chaddr[16];
    uint8_t sname[64];
    uint8_t file[128];
    uint32_t cookie;
    uint8_t options[312];
};

struct lease {
    uint32_t address, netmask, router, dns, server;
};

static size_t dhcp_request(struct dhcp_packet *packet, const uint8_t *mac, uint32_t xid,
                           uint8_t type, const struct lease *offer)
{
    memset(packet, 0, sizeof *packet);
    packet->op = 1;
    packet->htype = 1;
    packet->hlen = 6;
    packet->xid = xid;
    packet->flags = htons(0x8000);
    memcpy(packet->chaddr, mac, 6);
    packet->cookie = htonl(0x63825363);
    uint8_t *o = packet->options;
    *o++ = 53; *o++ = 1; *o++ = type;
    if (offer != NULL) {
        *o++ = 50; *o++ = 4; memcpy(o, &offer->address, 4); o += 4;
        *o++ = 54; *o++ = 4; memcpy(o, &offer->server, 4); o += 4;
    }
    *o++ = 55; *o++ = 3; *o++ = 1; *o++ = 3; *o++ = 6;
    *o++ = 255;
    return (size_t)(o - (uint8_t *)packet);
}

/* The message type of an answer to our transaction, with what it offers; 0 otherwise. */
static int dhcp_parse(const struct dhcp_packet *packet, ssize_t length, uint32_t xid,
                      struct lease *lease)
{
    if (length < (ssize_t)offsetof(struct dhcp_packet, options) || packet->op != 2
        || packet->xid != xid || packet->cookie != htonl(0x63825363))
        return 0;
    int type = 0;
    memset(lease, 0, sizeof *lease);
    lease->address = packet->yiaddr;
    const uint8_t *o = packet->options, *end = (const uint8_t *)packet + length;
    while (o < end && *o != 255) {
        if (*o == 0) {
            o++;
            continue;
        }
        if (o + 2 > end || o + 2 + o[1] > end)
            break;
        uint8_t code = o[0], size = o[1];
        const uint8_t *value = o + 2;
        if (code == 53 && size >= 1)
            type = value[0];
        else if (code == 1 && size >= 4)
            memcpy(&lease->netmask, value, 4);
        else if (code == 3 && size >= 4)
            memcpy(&lease->router, value, 4);
        else if (code == 6 && size >= 4)
            memcpy(&lease->dns, value, 4);
        else if (code == 54 && size >= 4)
            memcpy(&lease->server, value, 4);
        o += 2 + size;
    }
    return type;
}

static int dhcp_exchange(int sock, struct dhcp_packet *packet, size_t length, uint32_t xid,
                         int wanted, struct lease *lease)
{
    struct sockaddr_in server = { .sin_family = AF_INET, .sin_port = htons(67),
                                  .sin_addr.s_addr = INADDR_BROADCAST };
    for (int attempt = 0; attempt < 4; attempt++) {
        if (sendto(sock, packet, length, 0, (struct sockaddr *)&server, sizeof server) < 0)
            return 0;
        struct dhcp_packet answer;
        for (;;) {
            ssize_t n = recv(sock, &answer, sizeof answer, 0);
            if (n < 0)
                break;
            if (dhcp_parse(&answer, n, xid, lease) == wanted)
                return 1;
        }
    }
    return 0;
}

static int dhcp(const char *name, struct lease *lease)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return 0;
    int on = 1;
    struct timeval wait = { .tv_sec = 1 };
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    setsockopt(sock, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
    setsockopt(sock, SOL_SOCKET, SO_BINDTODEVICE, name, strlen(name) + 1);
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    struct sockaddr_in client = { .sin_family = AF_INET, .sin_port = htons(68) };
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    if (bind(sock, (struct sockaddr *)&client, sizeof client) != 0
        || ioctl(sock, SIOCGIFHWADDR, &request) != 0) {
        close(sock);
        return 0;
    }

    uint8_t mac[6];
    memcpy(mac, request.ifr_hwaddr.sa_data, 6);
    uint32_t xid = (uint32_t)time(NULL) ^ ((uint32_t)mac[5] << 24 | mac[4] << 16 | mac[3]);
    struct dhcp_packet packet;
    struct lease offer;
    int ok = dhcp_exchange(sock, &packet, dhcp_request(&packet, mac, xid, 1, NULL), xid, 2,
                           &offer)
             && dhcp_exchange(sock, &packet, dhcp_request(&packet, mac, xid, 3, &offer), xid,
                              5, lease);
    close(sock);
    if (ok && lease->server == 0)
        lease->server = offer.server;
    return ok;
}

static void write_resolv_conf(uint32_t dns)
{
    /* A read-only root keeps its own file; the app then resolves as the image says. */
    FILE *file = fopen("/etc/resolv.conf", "w");
    if (file == NULL)
        return;
    struct in_addr address = { .s_addr = dns };
    fprintf(file, "nameserver %s\n", inet_ntoa(address));
    fclose(file);
}

static void bring_up_network(void)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return;
    set_flags(sock, "lo", IFF_UP);

    char name[IFNAMSIZ] = "";
    if (!first_ethernet(name)) {
        say("no network interface; the app runs without a network");
        close(sock);
        return;
    }
    set_flags(sock, name, IFF_UP);

    struct lease lease;
    if (dhcp(name, &lease)) {
        if (lease.netmask == 0)
            lease.netmask = htonl(0xffffff00);
    } else {
        /* The addresses of QEMU's user network, the usual host of these machines. */
        say("no DHCP answer on %s; using 10.0.2.15/24", name);
        lease.address = inet_addr("10.0.2.15");
        lease.netmask = inet_addr("255.255.255.0");
        lease.router = inet_addr("10.0.2.2");
        lease.dns = inet_addr("10.0.2.3");
    }

    set_address(sock, name, SIOCSIFADDR, lease.address);
    set_address(sock, name, SIOCSIFNETMASK, lease.netmask);
    set_flags(sock, name, IFF_UP | IFF_RUNNING);
    if (lease.router != 0) {
        struct rtentry route;
        memset(&route, 0, sizeof route);
        ((struct sockaddr_in *)&route.rt_dst)->sin_family = AF_INET;
        ((struct sockaddr_in *)&route.rt_genmask)->sin_family = AF_INET;
        struct sockaddr_in *gateway = (struct sockaddr_in *)&route.rt_gateway;
        gateway->sin_family = AF_INET;
        gateway->sin_addr.s_addr = lease.router;
        route.rt_flags = RTF_UP | RTF_GATEWAY;
        if (ioctl(sock, SIOCADDRT, &route) != 0 && errno != EEXIST)
            say("cannot add the default route: %s", strerror(errno));
    }
    if (lease.dns != 0)
        write_resolv_conf(lease.dns);

    struct in_addr shown = { .s_addr = lease.address };
    say("%s has the address %s", name, inet_ntoa(shown));
    close(sock);
}

/* ---- the app ---- */

static pid_t start_app(const sigset_t *original)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;

    sigprocmask(SIG_SETMASK, original, NULL);
    setsid();
    ioctl(0, TIOCSCTTY, 0);
    if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        say("cannot switch to user %u:%u: %s", (unsigned)uid, (unsigned)gid, strerror(errno));
        _exit(126);
    }
    if (chdir(workdir) != 0) {
        say("cannot enter the working directory %s: %s", workdir, strerror(errno));
        _exit(126);
    }

    /* execvp looks the command up in the PATH of the environment it runs in: the app's. */
    environ = envs;
    execvp(args[0], args);
    say("cannot run %s: %s", args[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
}

static void stop_everything(void)
{
    kill(-1, SIGTERM);
    for (int i = 0; i < 20 && waitpid(-1, NULL, WNOHANG) >= 0; i++) {
        struct timespec pause_time = { .tv_nsec = 100 * 1000 * 1000 };
        nanosleep(&pause_time, NULL);
    }
    kill(-1, SIGKILL);
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(void)
{
    if (getpid() != 1) {
        fputs("dockertovms-init: runs only as PID 1 of a virtual machine\n", stderr);
        return 2;
    }

    /* Signals are taken one at a time in the loop below, never by a handler. */
    sigset_t handled, original;
    sigemptyset(&handled);
    sigaddset(&handled, SIGCHLD);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGINT);
    sigaddset(&handled, SIGHUP);
    sigaddset(&handled, SIGPWR);
    sigprocmask(SIG_BLOCK, &handled, &original);

    mount_file_systems();
    read_config();
    if (arg_count == 0) {
        say("no command to run in %s", CONFIG_PATH);
        power_off();
    }
    load_modules();
    bring_up_network();

    /* The kernel's uptime shows how much of a boot was the kernel's and how much the app's. */
    char uptime[32] = "?";
    int uptime_fd = open("/proc/uptime", O_RDONLY | O_CLOEXEC);
    if (uptime_fd >= 0) {
        ssize_t n = read(uptime_fd, uptime, sizeof uptime - 1);
        uptime[n > 0 ? n : 0] = '\0';
        uptime[strcspn(uptime, " ")] = '\0';
        close(uptime_fd);
    }
    say("starting %s (%s s after the kernel started)", args[0], uptime);
    pid_t app = start_app(&original);
    int code = 127;
    if (app < 0) {
        say("cannot start the app: %s", strerror(errno));
    } else {
        for (;;) {
            siginfo_t info;
            int signal_number = sigwaitinfo(&handled, &info);
            if (signal_number == SIGCHLD) {
                int status;
                pid_t ended;
                int app_ended = 0;
                while ((ended = waitpid(-1, &status, WNOHANG)) > 0) {
                    if (ended == app) {
                        code = WIFEXITED(status) ? WEXITSTATUS(status)
                                                 : 128 + WTERMSIG(status);
                        app_ended = 1;
                    }
                }
                if (app_ended)
                    break;
            } else if (signal_number > 0) {
                /* Ctrl+Alt+Del and ACPI power buttons reach PID 1 as SIGINT and SIGPWR. */
                kill(app, signal_number == SIGPWR || signal_number == SIGHUP ? SIGTERM
                                                                              : signal_number);
            }
        }
    }

    say("app exited with code %d", code);
    stop_everything();
    power_off();
    return 0;
}
