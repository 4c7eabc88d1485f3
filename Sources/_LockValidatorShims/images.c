// The images of the process and their symbol tables, for naming addresses without a child process:
// which image holds an address (a snapshot of dl_iterate_phdr, rebuilt when an address falls outside it),
// its load bias, absolute path and GNU build id, and the function or variable symbol covering an address
// (each image's .symtab and .dynsym read once from its file, sorted, and searched by halves).
//
// dladdr and libunwind's unw_get_proc_name did this before: dladdr searches every dynamic symbol of the
// image at each call, and libunwind re-reads /proc/self/maps and maps the whole file again at each call,
// which made naming a report's addresses take a second in a large test binary.
#define _GNU_SOURCE
#include "LockValidatorShims.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    uintptr_t start;
    uint32_t size;
    uint32_t name;  // offset into the image's string table
} symbol_entry;

typedef struct {
    symbol_entry *entries;
    size_t count;
    const char *strings;  // the string table, in the mapped file
} symbol_index;

typedef struct {
    uintptr_t bias;
    uintptr_t start, end;  // the lowest and highest address its loaded segments cover
    char *path;
    char build_id[2 * 64 + 1];
    // Built on first use; NULL until then, (void *)1 when the file has no usable symbol table.
    symbol_index *functions;
    symbol_index *variables;
} image_entry;

typedef struct {
    unsigned long long adds, subs;  // the loader's counts of objects loaded and unloaded, when it was taken
    size_t count;
    image_entry images[];
} image_table;

static image_table *current_table;

typedef struct {
    unsigned long long adds, subs;
} load_counts;

static int read_load_counts(struct dl_phdr_info *info, size_t size, void *context) {
    (void)size;
    load_counts *counts = context;
    counts->adds = info->dlpi_adds;
    counts->subs = info->dlpi_subs;
    return 1;  // the first object has them all
}

static char *executable_path(void) {
    char buffer[4096];
    ssize_t length = readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    if (length <= 0) return strdup("");
    buffer[length] = 0;
    return strdup(buffer);
}

/// The GNU build id in the notes between `note` and `end`, as lower-case hex; "" when there is none.
static void build_id_in_notes(const char *note, const char *end, char *hex) {
    hex[0] = 0;
    while (note + sizeof(ElfW(Nhdr)) <= end) {
        const ElfW(Nhdr) *header = (const ElfW(Nhdr) *)note;
        const char *name = note + sizeof *header;
        const unsigned char *descriptor = (const unsigned char *)name + ((header->n_namesz + 3) & ~3u);
        if ((const char *)descriptor + header->n_descsz > end) return;
        if (header->n_type == NT_GNU_BUILD_ID && header->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
            header->n_descsz <= 64) {
            for (uint32_t byte = 0; byte < header->n_descsz; byte++) {
                static const char digits[] = "0123456789abcdef";
                hex[2 * byte] = digits[descriptor[byte] >> 4];
                hex[2 * byte + 1] = digits[descriptor[byte] & 15];
            }
            hex[2 * header->n_descsz] = 0;
            return;
        }
        note = (const char *)descriptor + ((header->n_descsz + 3) & ~3u);
    }
}

static void read_build_id(const struct dl_phdr_info *info, char *hex) {
    hex[0] = 0;
    for (int i = 0; i < info->dlpi_phnum && hex[0] == 0; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_NOTE) continue;
        const char *note = (const char *)(info->dlpi_addr + segment->p_vaddr);
        build_id_in_notes(note, note + segment->p_memsz, hex);
    }
}

int lv_file_build_id(const char *path, char *hex) {
    hex[0] = 0;
    int file = open(path, O_RDONLY | O_CLOEXEC);
    if (file < 0) return -1;
    struct stat status;
    if (fstat(file, &status) != 0 || !S_ISREG(status.st_mode) || (size_t)status.st_size < sizeof(ElfW(Ehdr))) {
        close(file);
        return -1;
    }
    size_t length = (size_t)status.st_size;
    const char *bytes = mmap(NULL, length, PROT_READ, MAP_PRIVATE, file, 0);
    close(file);
    if (bytes == MAP_FAILED) return -1;
    const ElfW(Ehdr) *header = (const ElfW(Ehdr) *)bytes;
    int valid = memcmp(header->e_ident, ELFMAG, SELFMAG) == 0 && header->e_phentsize == sizeof(ElfW(Phdr)) &&
                header->e_phoff + header->e_phnum * sizeof(ElfW(Phdr)) <= length;
    for (int i = 0; valid && i < header->e_phnum && hex[0] == 0; i++) {
        const ElfW(Phdr) *segment = (const ElfW(Phdr) *)(bytes + header->e_phoff) + i;
        if (segment->p_type != PT_NOTE || segment->p_offset + segment->p_filesz > length) continue;
        build_id_in_notes(bytes + segment->p_offset, bytes + segment->p_offset + segment->p_filesz, hex);
    }
    munmap((void *)bytes, length);
    return valid ? 0 : -1;
}

typedef struct {
    image_table *table;
    size_t capacity;
} table_builder;

static int add_image(struct dl_phdr_info *info, size_t size, void *context) {
    (void)size;
    table_builder *builder = context;
    uintptr_t start = UINTPTR_MAX, end = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD) continue;
        uintptr_t low = info->dlpi_addr + segment->p_vaddr;
        if (low < start) start = low;
        if (low + segment->p_memsz > end) end = low + segment->p_memsz;
    }
    if (end == 0) return 0;
    if (builder->table->count == builder->capacity) {
        builder->capacity *= 2;
        image_table *grown = realloc(builder->table, sizeof(image_table) + builder->capacity * sizeof(image_entry));
        if (grown == NULL) return 1;
        builder->table = grown;
    }
    image_entry *image = &builder->table->images[builder->table->count++];
    memset(image, 0, sizeof *image);
    image->bias = info->dlpi_addr;
    image->start = start;
    image->end = end;
    // The executable has no name in the list; the vDSO's is not a file.
    image->path = info->dlpi_name && info->dlpi_name[0] ? strdup(info->dlpi_name) : executable_path();
    read_build_id(info, image->build_id);
    return 0;
}

/// A new snapshot of the loaded images, published for every thread; the old one stays valid (callers may
/// hold its paths), which costs a few hundred bytes per dlopen seen.
static image_table *rebuild_table(void) {
    table_builder builder = {malloc(sizeof(image_table) + 32 * sizeof(image_entry)), 32};
    if (builder.table == NULL) return NULL;
    builder.table->count = 0;
    load_counts counts = {0, 0};
    dl_iterate_phdr(read_load_counts, &counts);
    builder.table->adds = counts.adds;
    builder.table->subs = counts.subs;
    dl_iterate_phdr(add_image, &builder);
    // The symbol indexes of images still loaded carry over: they cost a file read each.
    image_table *old = __atomic_load_n(&current_table, __ATOMIC_ACQUIRE);
    for (size_t i = 0; old && i < builder.table->count; i++) {
        for (size_t j = 0; j < old->count; j++) {
            if (old->images[j].bias == builder.table->images[i].bias &&
                strcmp(old->images[j].path, builder.table->images[i].path) == 0) {
                builder.table->images[i].functions = __atomic_load_n(&old->images[j].functions, __ATOMIC_ACQUIRE);
                builder.table->images[i].variables = __atomic_load_n(&old->images[j].variables, __ATOMIC_ACQUIRE);
            }
        }
    }
    __atomic_store_n(&current_table, builder.table, __ATOMIC_RELEASE);
    return builder.table;
}

static image_entry *find_in(image_table *table, uintptr_t address) {
    for (size_t i = 0; table && i < table->count; i++) {
        if (address >= table->images[i].start && address < table->images[i].end) return &table->images[i];
    }
    return NULL;
}

static image_entry *image_containing(uintptr_t address) {
    image_table *table = __atomic_load_n(&current_table, __ATOMIC_ACQUIRE);
    image_entry *image = find_in(table, address);
    if (image != NULL) return image;
    // An address in no image (the heap, a stack) is common: the table is taken again only when the loader
    // has loaded or unloaded something since.
    if (table != NULL) {
        load_counts counts = {0, 0};
        dl_iterate_phdr(read_load_counts, &counts);
        if (counts.adds == table->adds && counts.subs == table->subs) return NULL;
    }
    return find_in(rebuild_table(), address);
}

int lv_image_of(uintptr_t address, uintptr_t *bias, const char **path) {
    image_entry *image = image_containing(address);
    if (image == NULL) return -1;
    if (bias) *bias = image->bias;
    if (path) *path = image->path;
    return 0;
}

const char *lv_image_build_id(uintptr_t address) {
    image_entry *image = image_containing(address);
    return image ? image->build_id : NULL;
}

// MARK: Symbol tables

static int by_start(const void *left, const void *right) {
    uintptr_t a = ((const symbol_entry *)left)->start, b = ((const symbol_entry *)right)->start;
    return a < b ? -1 : a > b;
}

/// The image's function (STT_FUNC, STT_GNU_IFUNC) or variable (STT_OBJECT, STT_TLS excluded) symbols from
/// its .symtab, or its .dynsym when stripped, as object addresses; NULL when the file cannot be read.
static symbol_index *read_symbols(const char *path, int functions) {
    int file = open(path, O_RDONLY | O_CLOEXEC);
    if (file < 0) return NULL;
    struct stat status;
    if (fstat(file, &status) != 0 || (size_t)status.st_size < sizeof(ElfW(Ehdr))) {
        close(file);
        return NULL;
    }
    size_t length = (size_t)status.st_size;
    const unsigned char *bytes = mmap(NULL, length, PROT_READ, MAP_PRIVATE, file, 0);
    close(file);
    if (bytes == MAP_FAILED) return NULL;
    const ElfW(Ehdr) *header = (const ElfW(Ehdr) *)bytes;
    if (memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 || header->e_shoff == 0 ||
        header->e_shentsize != sizeof(ElfW(Shdr)) || header->e_shoff + header->e_shnum * sizeof(ElfW(Shdr)) > length) {
        munmap((void *)bytes, length);
        return NULL;
    }
    const ElfW(Shdr) *sections = (const ElfW(Shdr) *)(bytes + header->e_shoff);
    const ElfW(Shdr) *table = NULL;
    for (int kind = SHT_SYMTAB; kind >= 0 && table == NULL; kind = kind == SHT_SYMTAB ? SHT_DYNSYM : -1) {
        for (int i = 0; i < header->e_shnum; i++) {
            if (sections[i].sh_type == (ElfW(Word))kind) table = &sections[i];
        }
    }
    if (table == NULL || table->sh_link >= header->e_shnum || table->sh_offset + table->sh_size > length ||
        sections[table->sh_link].sh_offset + sections[table->sh_link].sh_size > length) {
        munmap((void *)bytes, length);
        return NULL;
    }
    const ElfW(Sym) *symbols = (const ElfW(Sym) *)(bytes + table->sh_offset);
    size_t count = table->sh_size / sizeof(ElfW(Sym));
    const char *strings = (const char *)bytes + sections[table->sh_link].sh_offset;
    size_t strings_size = sections[table->sh_link].sh_size;
    symbol_index *index = calloc(1, sizeof *index);
    if (index == NULL || (index->entries = malloc((count ? count : 1) * sizeof(symbol_entry))) == NULL) {
        free(index);
        munmap((void *)bytes, length);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        const ElfW(Sym) *symbol = &symbols[i];
        int type = ELF64_ST_TYPE(symbol->st_info);
        int wanted = functions ? (type == STT_FUNC || type == STT_GNU_IFUNC) : type == STT_OBJECT;
        if (!wanted || symbol->st_shndx == SHN_UNDEF || symbol->st_value == 0 || symbol->st_name >= strings_size ||
            strings[symbol->st_name] == 0) {
            continue;
        }
        index->entries[index->count++] = (symbol_entry){
            symbol->st_value, symbol->st_size > UINT32_MAX ? UINT32_MAX : (uint32_t)symbol->st_size,
            symbol->st_name};
    }
    qsort(index->entries, index->count, sizeof(symbol_entry), by_start);
    index->strings = strings;  // the mapping stays for the life of the process
    return index;
}

#define NO_SYMBOLS ((symbol_index *)1)

static symbol_index *symbols_of(image_entry *image, int functions) {
    symbol_index **slot = functions ? &image->functions : &image->variables;
    symbol_index *index = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (index != NULL) return index == NO_SYMBOLS ? NULL : index;
    symbol_index *read = read_symbols(image->path, functions);
    if (read == NULL) read = NO_SYMBOLS;
    symbol_index *expected = NULL;
    // Two threads may read one file at once; one index wins, the other is left (a rare few kilobytes).
    if (!__atomic_compare_exchange_n(slot, &expected, read, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) read = expected;
    return read == NO_SYMBOLS ? NULL : read;
}

int lv_symbol_covering(uintptr_t address, int function, const char **name, uintptr_t *start) {
    image_entry *image = image_containing(address);
    if (image == NULL) return -1;
    symbol_index *index = symbols_of(image, function);
    if (index == NULL || index->count == 0) return -1;
    uintptr_t object_address = address - image->bias;
    // The last symbol starting at or below the address.
    size_t low = 0, high = index->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (index->entries[middle].start <= object_address) low = middle + 1;
        else high = middle;
    }
    if (low == 0) return -1;
    // Aliases share a start: the first of them that covers the address.
    size_t found = low - 1;
    while (found > 0 && index->entries[found - 1].start == index->entries[found].start) found--;
    for (size_t i = found; i < low; i++) {
        const symbol_entry *entry = &index->entries[i];
        // A symbol covers its size; one without a size only its first byte. A stripped library's internal
        // function past the end of the export before it is covered by none.
        if (object_address < entry->start + (entry->size ? entry->size : 1)) {
            *name = index->strings + entry->name;
            *start = entry->start + image->bias;
            return 0;
        }
    }
    return -1;
}
