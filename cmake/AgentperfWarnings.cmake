# Warnings and sanitizers shared by every target of the project.
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
	-Wpointer-arith -Wformat=2 -Wno-unused-parameter)
if(AGP_WERROR)
	add_compile_options(-Werror)
endif()

if(AGP_SANITIZE STREQUAL "address")
	add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
		-fno-omit-frame-pointer)
	add_link_options(-fsanitize=address,undefined)
elseif(AGP_SANITIZE STREQUAL "thread")
	add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
	add_link_options(-fsanitize=thread)
elseif(NOT AGP_SANITIZE STREQUAL "")
	message(FATAL_ERROR "AGP_SANITIZE must be '', 'address' or 'thread', not '${AGP_SANITIZE}'")
endif()
