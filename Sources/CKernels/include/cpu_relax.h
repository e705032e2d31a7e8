#ifndef CPU_RELAX_H
#define CPU_RELAX_H
/// Hint to the CPU that this is a spin-wait loop.
static inline void vk_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
#endif
